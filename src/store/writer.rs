//! [`EventWriter`]: the thread that persists retained events and history entries, so the
//! publish path never waits for the disk.
//!
//! Publishing hands writes over through a bounded channel without blocking. The thread takes
//! everything queued (up to [`MAX_BATCH`]) and applies it in one transaction, one fsync for
//! the lot: while one batch commits, the next one gathers (group commit). Closing the writer
//! (or dropping it) lets the thread commit what is still queued and waits for it, so a
//! graceful shutdown loses nothing.
//!
//! A full queue means the disk cannot keep up; the write is dropped, counted and logged rather
//! than slowing publishers down or growing memory without bound.

use crate::stats::histogram::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use parking_lot::Mutex;
use tracing::{error, warn};

use super::{EventStore, EventWrite};

/// The most writes committed in one transaction.
pub const MAX_BATCH: usize = 4096;

/// Writes waiting for the thread before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 65_536;

enum Item {
    Write(EventWrite),
    /// Answered once every write queued before it is committed (or failed).
    Flush(SyncSender<()>),
}

/// What the writer did, for logs and tests.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Writes committed.
    pub written: AtomicU64,
    /// Transactions committed.
    pub batches: AtomicU64,
    /// Writes dropped because the queue was full or the writer closed.
    pub dropped: AtomicU64,
    /// Writes whose transaction failed.
    pub failed: AtomicU64,
    /// How long each transaction took to commit (its fsync included).
    pub commits: Histogram,
}

/// The background writer of one realm's event store.
pub struct EventWriter {
    realm: String,
    tx: Mutex<Option<SyncSender<Item>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<WriterStats>,
}

impl std::fmt::Debug for EventWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventWriter")
            .field("realm", &self.realm)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl EventWriter {
    /// Starts the thread writing `realm`'s events to `store`.
    pub fn spawn(store: Arc<dyn EventStore>, realm: &str) -> std::io::Result<EventWriter> {
        Self::with_capacity(store, realm, QUEUE_CAPACITY)
    }

    pub fn with_capacity(
        store: Arc<dyn EventStore>,
        realm: &str,
        capacity: usize,
    ) -> std::io::Result<EventWriter> {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        let stats = Arc::new(WriterStats::default());
        let thread = std::thread::Builder::new()
            .name(format!("junction-events-{realm}"))
            .spawn({
                let (realm, stats) = (realm.to_owned(), Arc::clone(&stats));
                move || run(&*store, &realm, &rx, &stats)
            })?;
        Ok(EventWriter {
            realm: realm.to_owned(),
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            stats,
        })
    }

    /// Queues a write without waiting; false when it was dropped (queue full or closed).
    pub fn submit(&self, write: EventWrite) -> bool {
        let tx = self.tx.lock();
        let outcome = match tx.as_ref() {
            Some(tx) => tx.try_send(Item::Write(write)),
            None => Err(TrySendError::Disconnected(Item::Write(write))),
        };
        drop(tx);
        match outcome {
            Ok(()) => true,
            Err(reason) => {
                let dropped = self.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                // Logged at 1, 2, 4, 8, ... so a stuck disk does not flood the log.
                if dropped.is_power_of_two() {
                    let why = match reason {
                        TrySendError::Full(_) => "the write queue is full",
                        TrySendError::Disconnected(_) => "the writer is closed",
                    };
                    warn!(
                        realm = self.realm,
                        count = dropped,
                        error = why,
                        "event store write dropped"
                    );
                }
                false
            }
        }
    }

    /// Waits until every write submitted before this call is committed (or has failed).
    pub fn flush(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        let sent = match self.tx.lock().as_ref() {
            Some(tx) => tx.clone(),
            None => return,
        };
        if sent.send(Item::Flush(ack)).is_ok() {
            let _ = done.recv();
        }
    }

    /// Commits what is queued, stops the thread and waits for it. Later writes are dropped.
    pub fn close(&self) {
        drop(self.tx.lock().take());
        if let Some(thread) = self.thread.lock().take()
            && thread.join().is_err()
        {
            error!(realm = self.realm, "the event store writer panicked");
        }
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        self.close();
    }
}

/// The thread: gather, commit, repeat, until every sender is gone and the queue is empty.
fn run(store: &dyn EventStore, realm: &str, rx: &Receiver<Item>, stats: &WriterStats) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut acks = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Item::Write(write) => batch.push(write),
                Item::Flush(ack) => acks.push(ack),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let count = batch.len() as u64;
            let started = std::time::Instant::now();
            let written = store.write_events(realm, &batch);
            stats.commits.observe(started.elapsed());
            match written {
                Ok(()) => {
                    stats.written.fetch_add(count, Ordering::Relaxed);
                    stats.batches.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    stats.failed.fetch_add(count, Ordering::Relaxed);
                    error!(realm, count, error = %e, "event store writes lost");
                }
            }
            batch.clear();
        }
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EventRecord, MemoryStore, StoreError};
    use std::sync::Condvar;

    fn event(topic: &str, publication: u64) -> Arc<EventRecord> {
        Arc::new(EventRecord {
            publication,
            topic: topic.into(),
            timestamp: jiff::Timestamp::UNIX_EPOCH,
            details: Default::default(),
            args: None,
            kwargs: None,
            audience: Default::default(),
        })
    }

    /// A store whose commits wait until the test opens the gate, recording batch sizes.
    #[derive(Default)]
    struct Gated {
        inner: MemoryStore,
        open: std::sync::Mutex<bool>,
        opened: Condvar,
        batches: Mutex<Vec<usize>>,
        entered: AtomicU64,
    }

    impl Gated {
        /// Waits until the writer thread is inside a commit.
        fn wait_entered(&self) {
            while self.entered.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
        }

        fn open(&self) {
            *self.open.lock().unwrap() = true;
            self.opened.notify_all();
        }
    }

    impl EventStore for Gated {
        fn is_durable(&self) -> bool {
            true
        }
        fn write_events(&self, realm: &str, writes: &[EventWrite]) -> Result<(), StoreError> {
            self.entered.fetch_add(1, Ordering::SeqCst);
            let open = self.open.lock().unwrap();
            drop(self.opened.wait_while(open, |open| !*open).unwrap());
            self.batches.lock().push(writes.len());
            self.inner.write_events(realm, writes)
        }
        fn retained_events(&self, realm: &str) -> Result<Vec<EventRecord>, StoreError> {
            self.inner.retained_events(realm)
        }
        fn event_history(
            &self,
            realm: &str,
            rule: &str,
        ) -> Result<Vec<(u64, Arc<EventRecord>)>, StoreError> {
            self.inner.event_history(realm, rule)
        }
        fn history_rules(&self, realm: &str) -> Result<Vec<String>, StoreError> {
            self.inner.history_rules(realm)
        }
    }

    #[test]
    fn writes_queued_during_a_commit_go_in_one_batch() {
        let store = Arc::new(Gated::default());
        let writer = EventWriter::spawn(store.clone(), "realm1").unwrap();
        writer.submit(EventWrite::Retain(event("t0", 1)));
        // The thread is stuck committing the first write; everything after it queues up.
        store.wait_entered();
        for n in 1..=100 {
            assert!(writer.submit(EventWrite::Retain(event(&format!("t{n}"), n))));
        }
        store.open();
        writer.flush();
        assert_eq!(*store.batches.lock(), [1, 100]);
        assert_eq!(writer.stats().written.load(Ordering::Relaxed), 101);
        assert_eq!(writer.stats().batches.load(Ordering::Relaxed), 2);
        assert_eq!(store.retained_events("realm1").unwrap().len(), 101);
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let store = Arc::new(Gated::default());
        let writer = EventWriter::with_capacity(store.clone(), "realm1", 2).unwrap();
        writer.submit(EventWrite::Retain(event("first", 1)));
        store.wait_entered();
        let accepted = (0..10)
            .filter(|n| writer.submit(EventWrite::Retain(event("t", *n))))
            .count();
        assert_eq!(accepted, 2);
        assert_eq!(writer.stats().dropped.load(Ordering::Relaxed), 8);
        store.open();
    }

    #[test]
    fn close_commits_what_is_queued() {
        let store = Arc::new(Gated::default());
        let writer = EventWriter::spawn(store.clone(), "realm1").unwrap();
        for n in 0..50 {
            writer.submit(EventWrite::Retain(event(&format!("t{n}"), n)));
        }
        store.open();
        writer.close();
        assert_eq!(store.retained_events("realm1").unwrap().len(), 50);
        assert!(!writer.submit(EventWrite::ForgetRetained { topic: "t1".into() }));
        drop(writer);
        assert_eq!(store.retained_events("realm1").unwrap().len(), 50);
    }
}
