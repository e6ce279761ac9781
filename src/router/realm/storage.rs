//! What a realm loads from its store when it attaches it (at start, or later for a store
//! another process held: retained events, history entries) and hands to it at shutdown; which store a realm gets and how writes reach it is
//! [`persist`](crate::router::persist)'s.

use std::sync::Arc;

use tracing::info;

use crate::router::broker::RetainedEvent;
use crate::router::persist::{audience, retained_writer};
use crate::router::realm::Realm;
use crate::store::{EventStore, EventWriter, Store};
use crate::wamp::message::Payload;

impl Realm {
    /// Puts the realm on `store` (its own, see [`Realm::open`] and [`Realm::open_late`]): what
    /// the store kept is loaded (retained events into the broker, history entries into their
    /// buffers) and, when it is durable, a writer thread starts and everything retained or
    /// recorded from now on goes to it. What the realm retained or recorded before (its store
    /// opened late) wins over the store's retained event of the same topic, follows the stored
    /// history entries, and is written to the store. A memory store has nothing to load.
    /// Nothing changes when reading the store fails.
    pub fn attach_store(&self, store: &Arc<dyn Store>) -> Result<(), String> {
        if !store.is_durable() {
            return Ok(());
        }
        let retained: Vec<(String, RetainedEvent)> = store
            .retained_events(&self.name)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|record| {
                let event = RetainedEvent {
                    publication: record.publication,
                    details: record.details,
                    payload: Payload {
                        args: record.args,
                        kwargs: record.kwargs,
                    },
                    audience: audience(&record.audience),
                };
                (record.topic, event)
            })
            .collect();
        let writer = EventWriter::spawn(Arc::clone(store) as Arc<dyn EventStore>, &self.name)
            .map_err(|e| format!("cannot start the event store writer: {e}"))?;
        let writer = Arc::new(writer);
        let slot = self.storage.writer_slot();
        let entries = match &self.history {
            Some(history) => history
                .attach(&self.name, &**store, &writer, slot)
                .map_err(|e| e.to_string())?,
            None => {
                let _ = slot.set(Arc::clone(&writer));
                0
            }
        };
        let (count, meanwhile) = self
            .broker
            .write()
            .attach_retained_sink(retained_writer(writer), retained);
        if count > 0 || entries > 0 {
            info!(
                realm = self.name,
                "loaded {retained} retained event(s) and {entries} history entries from the store",
                retained = count
            );
        }
        if meanwhile > 0 {
            info!(
                realm = self.name,
                "{meanwhile} event(s) retained before the store opened are written to it"
            );
        }
        self.storage.set_waiting(None);
        Ok(())
    }

    /// Why the realm's store is not open yet (another process holds it), while it is not.
    pub fn store_waiting(&self) -> Option<String> {
        self.storage.waiting()
    }

    /// The path of a store that opens late (or opened late).
    pub fn late_store_path(&self) -> Option<&std::path::Path> {
        self.storage.late_path()
    }

    pub(crate) fn set_store_waiting(&self, why: String) {
        self.storage.set_waiting(Some(why));
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
            commits: stats.commits.snapshot(),
            size_bytes: self.storage.store().size_bytes(),
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
    /// How long the writer's transactions took to commit.
    pub commits: crate::stats::histogram::Snapshot,
    /// The store file's size.
    pub size_bytes: Option<u64>,
}
