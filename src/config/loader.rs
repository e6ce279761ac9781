//! The context one load of `config.json` carries along while the loaders of
//! each part walk the document (environment, the file's folder, keys ignored, names seen so far).
//! Apart from [`load`](super::load) so that the part loaders, which the load calls, do not
//! import it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::config::model::{NotRun, RealmConfig};

/// What one load carries along while walking the document.
pub(crate) struct Loader<'e> {
    /// Environment lookup for `$NAME` secrets.
    pub env: &'e dyn Fn(&str) -> Option<String>,
    /// Folder that relative file names (TLS certificate and key) are resolved against.
    pub folder: PathBuf,
    /// Paths of keys accepted without effect, in the order they were met.
    pub ignored: Vec<String>,
    /// Realm name -> path of its first definition: names are unique across the whole node.
    pub realm_paths: BTreeMap<String, String>,
    /// Roles defined by the realms of the worker being loaded; its auth blocks may name only these.
    pub worker_roles: BTreeSet<String>,
    /// The realms of the worker being loaded; bridge paths name one of these, and a role in it.
    pub worker_realms: Vec<RealmConfig>,
    /// Parts accepted but not run (container workers, router components, rlinks, ...).
    pub not_run: Vec<NotRun>,
    /// Warnings found while loading (each starts with its JSON path).
    pub warnings: Vec<String>,
    /// Paths of the `tls` auth blocks of the transport being loaded, for its endpoint to check
    /// that it asks for client certificates (the endpoint is loaded after the services).
    pub tls_auth_paths: Vec<String>,
    /// Crossbar RESTCallee components of container workers, placed in their realms once every
    /// worker is loaded (`crossbar_rest_callee.rs`).
    pub pending_rest_callees: Vec<crate::config::model::PendingRestCallee>,
}
