//! Routing, free of socket I/O: realms, sessions, broker, dealer, authentication, authorization.

pub mod auth;
pub mod authorize;
pub mod backplane;
pub mod broker;
pub mod call_queue;
pub mod client_cert;
mod cluster_step;
pub mod config_warnings;
pub mod dealer;
mod delivery;
pub mod dynamic_authorization;
pub mod error;
pub mod history;
pub mod internal;
pub mod outbound;
pub mod peer;
pub mod persist;
pub mod realm;
pub mod session;
pub mod session_stats;
pub mod session_table;
pub mod store_retry;
pub mod traffic;
pub mod uri_index;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::config::Config;
use realm::Realm;

/// All realms of this node, by name, and the node-wide shutdown signal.
pub struct Router {
    realms: HashMap<String, Arc<Realm>>,
    /// Stores another process held at start, until [`Router::retry_stores`] takes them.
    late_stores: Mutex<store_retry::LateStores>,
    shutdown: watch::Sender<bool>,
    /// Open WAMP connections, so a shutdown can wait for their GOODBYEs to go out.
    connections: Arc<AtomicUsize>,
    /// Listeners configured, bound, and down, for readiness.
    listeners: Listeners,
}

/// The node's listeners as readiness sees them.
#[derive(Default)]
struct Listeners {
    expected: AtomicUsize,
    up: AtomicUsize,
    /// Listeners that could not bind, by name, with why (the OS error).
    down: Mutex<BTreeMap<String, String>>,
}

/// Counts one open connection for as long as it lives.
pub struct ConnectionGuard(Arc<AtomicUsize>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Router {
    /// The router of `config`, each realm on its store (see [`persist`]), with what the
    /// stores kept from an earlier run loaded. Fails when a store cannot be opened or read.
    ///
    /// A store file that another process holds is not a failure: its realms serve without it
    /// (see [`store_retry`]) until [`Router::retry_stores`] opens it.
    pub fn open(config: &Config) -> Result<Router, String> {
        let mut stores = persist::StoreOpener::new(config);
        let mut realms = HashMap::new();
        let mut late = store_retry::LateStores::default();
        for realm in config.workers.iter().flat_map(|w| &w.realms) {
            let opened = stores
                .open(realm)
                .and_then(|opened| match opened {
                    persist::Opened::Now(store) => Realm::open(realm, store).map(Arc::new),
                    persist::Opened::Late { store, why } => {
                        let opened = Arc::new(Realm::open_late(realm, Arc::clone(&store), why));
                        late.add(store, Arc::clone(&opened));
                        Ok(opened)
                    }
                })
                .map_err(|e| format!("realm \"{}\": {e}", realm.name))?;
            realms.insert(realm.name.clone(), opened);
        }
        late.warn();
        Ok(Router {
            realms,
            late_stores: Mutex::new(late),
            shutdown: watch::Sender::new(false),
            connections: Arc::default(),
            listeners: Default::default(),
        })
    }

    /// Every realm on a memory store, nothing persisted (for tests).
    pub fn new(config: &Config) -> Router {
        let realms = config
            .workers
            .iter()
            .flat_map(|w| &w.realms)
            .map(|r| (r.name.clone(), Arc::new(Realm::new(r))))
            .collect();
        Router {
            realms,
            late_stores: Mutex::default(),
            shutdown: watch::Sender::new(false),
            connections: Arc::default(),
            listeners: Default::default(),
        }
    }

    /// The names of the realms, sorted.
    pub fn realm_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.realms.keys().cloned().collect();
        names.sort();
        names
    }

    pub fn realm(&self, name: &str) -> Option<Arc<Realm>> {
        self.realms.get(name).cloned()
    }

    /// Opens, in the background, the stores that another process held at start (every
    /// [`store_retry::RETRY_EVERY`] until they open or the node shuts down). Must run inside a
    /// runtime.
    pub fn retry_stores(&self) {
        let late = std::mem::take(&mut *self.late_stores.lock());
        late.retry(self.shutdown_signal());
    }

    /// Commits what every realm still has queued for its store (at shutdown, after the
    /// sessions are gone).
    pub fn close_stores(&self) {
        for realm in self.realms.values() {
            realm.close_store();
        }
    }

    /// Asks every session to end: joined ones get GOODBYE `wamp.close.system_shutdown`.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Whether the node is shutting down (it is then no longer ready).
    pub fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// The listeners about to be bound (before the first is).
    pub fn expect_listeners(&self, count: usize) {
        self.listeners.expected.store(count, Ordering::Relaxed);
    }

    /// The listener `name` is bound and serving (at start, or after it failed to bind).
    pub fn listener_up(&self, name: &str) {
        self.listeners.down.lock().remove(name);
        self.listeners.up.fetch_add(1, Ordering::Relaxed);
    }

    /// The listener `name` cannot bind, because of `why` (replacing an earlier reason).
    pub fn listener_down(&self, name: &str, why: String) {
        self.listeners.down.lock().insert(name.to_owned(), why);
    }

    /// (listeners bound, listeners configured).
    pub fn listeners(&self) -> (usize, usize) {
        (
            self.listeners.up.load(Ordering::Relaxed),
            self.listeners.expected.load(Ordering::Relaxed),
        )
    }

    /// Why each listener that is down is down (name and OS error), ordered by name.
    pub fn listeners_down(&self) -> Vec<String> {
        self.listeners.down.lock().values().cloned().collect()
    }

    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn connection_opened(&self) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(Arc::clone(&self.connections))
    }

    pub fn open_connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}
