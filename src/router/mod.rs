//! Routing, free of socket I/O: realms, sessions, broker, dealer, authentication, authorization.

pub mod auth;
pub mod authorize;
pub mod broker;
pub mod dealer;
pub mod internal;
pub mod peer;
pub mod realm;
pub mod session;
pub mod uri_index;

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::Config;
use realm::Realm;

/// All realms of this node, by name.
pub struct Router {
    realms: HashMap<String, Arc<Realm>>,
}

impl Router {
    pub fn new(config: &Config) -> Router {
        let realms = config
            .workers
            .iter()
            .flat_map(|w| &w.realms)
            .map(|r| (r.name.clone(), Arc::new(Realm::new(r))))
            .collect();
        Router { realms }
    }

    pub fn realm(&self, name: &str) -> Option<Arc<Realm>> {
        self.realms.get(name).cloned()
    }
}
