//! Stores another process held when the router started (two Junctions pointed at one store
//! file: redb locks it, so the second cannot open it). Their realms serve meanwhile as realms
//! on a memory store do, readiness fails with the reason, and the file is opened again every
//! [`RETRY_EVERY`]; once it opens, each realm [attaches](Realm::attach_store) it and the node
//! is ready. Any other failure to open a store still stops the start (see `Router::open`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::router::persist::locked;
use crate::router::realm::Realm;
use crate::store::{EmbeddedStore, LateStore, Store};

/// How long a store held by another process waits before the next attempt.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

/// The late stores of a router, by path, each with the realms on it.
#[derive(Default)]
pub struct LateStores {
    stores: BTreeMap<PathBuf, (Arc<LateStore>, Vec<Arc<Realm>>)>,
}

impl LateStores {
    pub fn add(&mut self, store: Arc<LateStore>, realm: Arc<Realm>) {
        let path = store.path().to_owned();
        self.stores
            .entry(path)
            .or_insert_with(|| (store, Vec::new()))
            .1
            .push(realm);
    }

    /// One WARN per store: which realms serve without it, and what that means.
    pub fn warn(&self) {
        for (store, realms) in self.stores.values() {
            let why = realms
                .first()
                .and_then(|r| r.store_waiting())
                .unwrap_or_else(|| locked(store.path()));
            warn!(
                realm = names(realms),
                "{why}: serving without it (sessions, pubsub and RPC work; retained events and \
                 history are kept in memory only, the topics API refuses changes), not ready, \
                 and opening it again every {}s",
                RETRY_EVERY.as_secs()
            );
        }
    }

    /// Spawns one task per store that opens it again every [`RETRY_EVERY`] until it opens
    /// (then its realms attach it) or `shutdown` turns true.
    pub fn retry(self, shutdown: watch::Receiver<bool>) {
        for (path, (store, realms)) in self.stores {
            tokio::spawn(retry(path, store, realms, shutdown.clone()));
        }
    }
}

fn names(realms: &[Arc<Realm>]) -> String {
    let names: Vec<&str> = realms.iter().map(|r| r.name.as_str()).collect();
    names.join(", ")
}

async fn retry(
    path: PathBuf,
    late: Arc<LateStore>,
    realms: Vec<Arc<Realm>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut last = String::new();
    // Still held as at start: the reason (with the holder, found by scanning /proc) stands.
    let mut held = true;
    // Once open, the store is kept: a realm that attached it holds it (its writer), so only
    // the realms that could not load from it try again.
    let mut opened: Option<Arc<dyn Store>> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RETRY_EVERY) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        }
        if opened.is_none() {
            let opening = path.clone();
            match tokio::task::spawn_blocking(move || EmbeddedStore::open(&opening)).await {
                Ok(Ok(store)) => opened = Some(Arc::new(store)),
                Ok(Err(e)) if e.is_locked() => {
                    if !held {
                        waiting(&realms, locked(&path), &mut last);
                    }
                    held = true;
                    continue;
                }
                Ok(Err(e)) => waiting(&realms, e.to_string(), &mut last),
                Err(e) => waiting(
                    &realms,
                    format!("opening {}: {e}", path.display()),
                    &mut last,
                ),
            }
            held = false;
        }
        let Some(store) = &opened else { continue };
        match attach(&late, store, &realms) {
            Ok(()) => {
                info!(
                    realm = names(&realms),
                    "store {} is open now: retained events and history are persisted again",
                    path.display()
                );
                return;
            }
            Err(why) => waiting(&realms, why, &mut last),
        }
    }
}

/// Tells the realms why their store is still not open, and the log when that changed.
fn waiting(realms: &[Arc<Realm>], why: String, last: &mut String) {
    if why == *last {
        return;
    }
    error!(realm = names(realms), "{why}: still not ready, retrying");
    for realm in realms {
        if realm.store_waiting().is_some() {
            realm.set_store_waiting(why.clone());
        }
    }
    *last = why;
}

/// Every realm still waiting attaches `store`, then the late store hands its calls to it.
fn attach(late: &LateStore, store: &Arc<dyn Store>, realms: &[Arc<Realm>]) -> Result<(), String> {
    let mut failed = None;
    for realm in realms {
        if realm.store_waiting().is_none() {
            continue; // attached on an earlier attempt
        }
        if let Err(e) = realm.attach_store(store) {
            let path = late.path().display();
            failed = Some(format!(
                "store {path} opened, but realm \"{}\" cannot load it: {e}",
                realm.name
            ));
        }
    }
    match failed {
        Some(why) => Err(why),
        None => {
            late.set(Arc::clone(store));
            Ok(())
        }
    }
}
