//! Requests to the HTTP bridge paths (publisher, caller, webhook, sse), counted for metrics and the
//! admin dashboard: by path and status, with their latency.
//!
//! Process-wide, like the WAMP traffic counts: every path is registered once when its listener
//! starts (the same path on two listeners shares its counts). Labels are the configured paths
//! and the status codes Junction answers with, so they stay few.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use parking_lot::Mutex;

use crate::stats::histogram::{Histogram, Snapshot};

/// One bridge path's counts.
#[derive(Debug)]
pub struct PathStats {
    /// `publisher`, `caller`, `webhook` or `sse`.
    pub kind: &'static str,
    /// Requests by status code. A request costs tens of microseconds; a short lock here is
    /// noise next to it.
    statuses: Mutex<BTreeMap<u16, u64>>,
    latency: Histogram,
    /// Responses still streaming (an `sse` path's open streams).
    streams: AtomicU64,
}

impl PathStats {
    /// A request answered with `status` after `took`.
    pub fn record(&self, status: u16, took: Duration) {
        *self.statuses.lock().entry(status).or_default() += 1;
        self.latency.observe(took);
    }

    /// A stream opened; it counts as open until the guard drops (the response body ends).
    pub fn stream_opened(self: &Arc<Self>) -> OpenStream {
        self.streams.fetch_add(1, Ordering::Relaxed);
        OpenStream(Arc::clone(self))
    }
}

/// One open stream of a path (see [`PathStats::stream_opened`]).
#[derive(Debug)]
pub struct OpenStream(Arc<PathStats>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Every registered path, by path.
static PATHS: LazyLock<Mutex<BTreeMap<String, Arc<PathStats>>>> = LazyLock::new(Mutex::default);

/// The counts of `path`, registered on first use.
pub fn for_path(path: &str, kind: &'static str) -> Arc<PathStats> {
    let mut paths = PATHS.lock();
    let stats = paths.entry(path.to_owned()).or_insert_with(|| {
        Arc::new(PathStats {
            kind,
            statuses: Mutex::default(),
            latency: Histogram::default(),
            streams: AtomicU64::new(0),
        })
    });
    Arc::clone(stats)
}

/// One path's counts at one moment.
#[derive(Debug, Clone)]
pub struct PathSnapshot {
    pub path: String,
    pub kind: &'static str,
    /// (status, requests), by status.
    pub statuses: Vec<(u16, u64)>,
    pub latency: Snapshot,
    /// Responses streaming now.
    pub streams: u64,
}

/// Every path's counts now, by path.
pub fn snapshot() -> Vec<PathSnapshot> {
    let paths: Vec<(String, Arc<PathStats>)> = PATHS
        .lock()
        .iter()
        .map(|(path, stats)| (path.clone(), Arc::clone(stats)))
        .collect();
    paths
        .into_iter()
        .map(|(path, stats)| PathSnapshot {
            path,
            kind: stats.kind,
            statuses: stats
                .statuses
                .lock()
                .iter()
                .map(|(status, n)| (*status, *n))
                .collect(),
            latency: stats.latency.snapshot(),
            streams: stats.streams.load(Ordering::Relaxed),
        })
        .collect()
}
