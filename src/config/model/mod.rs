//! The validated, typed model of `config.json` that the rest of Junction runs from.
//!
//! Parsing and validation (`config/load.rs`) turn Crossbar-shaped JSON into these types;
//! nothing outside `config/` ever looks at raw JSON. Defaults are applied during loading,
//! so every field here holds the value in force.
//!
//! One file per part of `config.json`: [`realm`] (realms, roles, permissions, stores, topics),
//! [`transport`] (transports, endpoints, path tables, WebSocket and RawSocket services),
//! [`bridge`] (publisher, caller and webhook paths), [`auth`] (authentication methods).

mod auth;
mod bridge;
mod realm;
mod transport;
mod upload;

pub use auth::*;
pub use bridge::*;
pub use realm::*;
pub use transport::*;
pub use upload::*;

use std::path::PathBuf;

/// The whole node: every router worker's realms and transports.
#[derive(Debug, Clone)]
pub struct Config {
    pub workers: Vec<Worker>,
    /// The folder of the config file (relative data paths are resolved against it).
    pub folder: PathBuf,
    /// JSON paths of keys that were accepted but have no effect in Junction
    /// (Crossbar process-model keys such as `controller`, worker `options`, a permission's `cache`).
    pub ignored: Vec<String>,
}

/// A `workers[]` entry of type `router`.
#[derive(Debug, Clone)]
pub struct Worker {
    pub realms: Vec<RealmConfig>,
    pub transports: Vec<TransportConfig>,
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
