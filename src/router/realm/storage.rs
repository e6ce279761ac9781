//! What a realm loads from its store at start (retained events, history entries) and hands
//! to it at shutdown; which store a realm gets and how writes reach it is
//! [`persist`](crate::router::persist)'s.

use std::sync::Arc;

use tracing::info;

use crate::router::broker::RetainedEvent;
use crate::router::persist::audience;
use crate::router::realm::Realm;
use crate::store::{Store, StoreError};
use crate::wamp::message::Payload;

impl Realm {
    /// Loads what an earlier run kept: retained events into the broker, history entries into
    /// the history buffers. A memory store has nothing to load.
    pub(crate) fn load_events(&self) -> Result<(), StoreError> {
        let store = self.storage.store();
        if !store.is_durable() {
            return Ok(());
        }
        let retained = store.retained_events(&self.name)?;
        let count = retained.len();
        let broker = self.broker.read();
        for record in retained {
            let event = RetainedEvent {
                publication: record.publication,
                details: record.details,
                payload: Payload {
                    args: record.args,
                    kwargs: record.kwargs,
                },
                audience: audience(&record.audience),
            };
            broker.restore_retained(record.topic, event);
        }
        drop(broker);
        let entries = match &self.history {
            Some(history) => history.load(&self.name, &**store, self.storage.writer())?,
            None => 0,
        };
        if count > 0 || entries > 0 {
            info!(
                realm = self.name,
                "loaded {retained} retained event(s) and {entries} history entries from the store",
                retained = count
            );
        }
        Ok(())
    }

    /// The realm's store (pollers keep their state in it too).
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(self.storage.store())
    }

    /// Whether the realm's store keeps events across restarts, and how many of its writes
    /// failed since start (for readiness).
    pub fn store_health(&self) -> (bool, u64) {
        let failed = self.store_stats().map_or(0, |stats| stats.failed);
        (self.storage.store().is_durable(), failed)
    }

    /// The store writer's counts (`None` for a store that is not written: memory).
    pub fn store_stats(&self) -> Option<StoreStats> {
        let stats = self.storage.writer()?.stats();
        let read = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
        Some(StoreStats {
            written: read(&stats.written),
            failed: read(&stats.failed),
            dropped: read(&stats.dropped),
        })
    }

    /// Commits the writes still queued for the store and stops its writer (at shutdown).
    pub fn close_store(&self) {
        self.storage.close();
    }
}

/// A realm's store writes since start.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreStats {
    pub written: u64,
    pub failed: u64,
    pub dropped: u64,
}
