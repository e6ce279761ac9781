//! What each HTTP subscriber did, for metrics (`junction_http_subscriber_*`): events
//! delivered, given up and dropped, retries, the queue's length and request durations.
//!
//! Process-wide, like the bridge paths' counts (`http::bridge_stats`): each subscriber is
//! registered when it starts, keyed by realm and its configured name (never its URL, which
//! may hold a secret), so labels stay few and come from the config. One forwarder task writes
//! a subscriber's counts: plain atomics, no sharding needed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use parking_lot::Mutex;

use crate::log_throttle::Throttle;
use crate::stats::histogram::{Histogram, Snapshot};

/// One subscriber's counts.
#[derive(Debug, Default)]
pub struct SubscriberStats {
    /// Events the endpoint accepted.
    pub delivered: AtomicU64,
    /// Events given up: attempts exhausted, or an answer that is not retried.
    pub failed: AtomicU64,
    /// Events dropped because the forwarder's queue was full.
    pub dropped: AtomicU64,
    /// Requests sent again after a failed attempt.
    pub retries: AtomicU64,
    /// Events waiting in the forwarder's queue.
    pub queued: AtomicU64,
    pub duration: Histogram,
    /// At most one "dropped" line a second for this subscriber.
    pub drop_log: Throttle,
    /// At most one "given up" line a second for this subscriber.
    pub fail_log: Throttle,
}

impl SubscriberStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn request(&self, took: Duration) {
        self.duration.observe(took);
    }
}

type Key = (String, String);

static SUBSCRIBERS: LazyLock<Mutex<BTreeMap<Key, Arc<SubscriberStats>>>> =
    LazyLock::new(Mutex::default);

/// The counts of the subscriber `name` of `realm`, registered on first use.
pub fn register(realm: &str, name: &str) -> Arc<SubscriberStats> {
    let mut all = SUBSCRIBERS.lock();
    let stats = all.entry((realm.to_owned(), name.to_owned())).or_default();
    Arc::clone(stats)
}

/// One subscriber's counts at one moment.
#[derive(Debug, Clone)]
pub struct SubscriberSnapshot {
    pub realm: String,
    pub name: String,
    pub delivered: u64,
    pub failed: u64,
    pub dropped: u64,
    pub retries: u64,
    pub queued: u64,
    pub duration: Snapshot,
}

/// Every subscriber's counts now, by realm and name.
pub fn snapshot() -> Vec<SubscriberSnapshot> {
    let all: Vec<(Key, Arc<SubscriberStats>)> = SUBSCRIBERS
        .lock()
        .iter()
        .map(|(key, stats)| (key.clone(), Arc::clone(stats)))
        .collect();
    let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    all.into_iter()
        .map(|((realm, name), s)| SubscriberSnapshot {
            realm,
            name,
            delivered: read(&s.delivered),
            failed: read(&s.failed),
            dropped: read(&s.dropped),
            retries: read(&s.retries),
            queued: read(&s.queued),
            duration: s.duration.snapshot(),
        })
        .collect()
}
