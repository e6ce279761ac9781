//! The validated, typed model of `config.json` that the rest of Junction runs from.
//!
//! Parsing and validation (`config/load.rs`) turn Crossbar-shaped JSON into these types;
//! nothing outside `config/` ever looks at raw JSON. Defaults are applied during loading,
//! so every field here holds the value in force.
//!
//! One file per part of `config.json`: [`realm`] (realms, roles, permissions, stores, topics),
//! [`transport`] (transports, endpoints, path tables, WebSocket and RawSocket services),
//! [`bridge`] (publisher, caller and webhook paths), [`proxy`] (reverse proxy paths), [`auth`]
//! (authentication methods), [`worker`] (guest workers, and the parts Junction does not run).

mod admin;
mod archive;
mod auth;
mod bridge;
mod cgi;
mod cluster;
mod cookie;
mod http_callee;
mod http_subscriber;
mod proxy;
mod realm;
mod sse;
mod transport;
mod upload;
mod worker;

pub use admin::*;
pub use archive::*;
pub use auth::*;
pub use bridge::*;
pub use cgi::*;
pub use cluster::*;
pub use cookie::*;
pub use http_callee::*;
pub use http_subscriber::*;
pub use proxy::*;
pub use realm::*;
pub use sse::*;
pub use transport::*;
pub use upload::*;
pub use worker::*;

use std::path::PathBuf;

/// The whole node: every router worker's realms and transports, the guest workers.
#[derive(Debug, Clone)]
pub struct Config {
    pub workers: Vec<Worker>,
    /// `guest` workers, in config order.
    pub guests: Vec<GuestWorker>,
    /// Parts accepted but not run (container workers, router components, ...), in config order.
    pub not_run: Vec<NotRun>,
    /// Warnings found while loading, each starting with its JSON path (see `config::warnings`).
    pub load_warnings: Vec<String>,
    /// The folder of the config file (relative data paths are resolved against it).
    pub folder: PathBuf,
    /// JSON paths of keys that were accepted but have no effect in Junction
    /// (Crossbar process-model keys such as `controller`, worker `options`, a permission's `cache`).
    pub ignored: Vec<String>,
}

/// A `workers[]` entry of type `router`.
#[derive(Debug, Clone)]
pub struct Worker {
    /// JSON path of the worker, e.g. `workers[0]` (guests and other workers count too).
    pub path: String,
    pub realms: Vec<RealmConfig>,
    pub transports: Vec<TransportConfig>,
    /// `cluster`: the NATS backplane shared with other nodes; `None` runs single-node.
    pub cluster: Option<ClusterConfig>,
}

impl Config {
    /// The realms served by a topics API path: they get pollers even without config topics.
    pub fn topics_api_realms(&self) -> Vec<String> {
        let mut realms = Vec::new();
        for transport in self.workers.iter().flat_map(|w| &w.transports) {
            if let Some(paths) = transport.kind.paths() {
                for service in paths.values() {
                    if let PathService::TopicsApi(api) = service
                        && !realms.contains(&api.realm)
                    {
                        realms.push(api.realm.clone());
                    }
                }
            }
        }
        realms
    }
}
