//! Counting on the hot paths, for metrics: counters and latency histograms that many threads
//! add to at once without slowing each other down.
//!
//! A plain shared `AtomicU64` bounces its cache line between the cores that add to it (tens of
//! nanoseconds per add under load, on every message). Here each thread adds to its own shard:
//! a cache-line-aligned copy of the counters, picked once per thread, so an add is a relaxed
//! atomic on a line that stays in that core's cache. Reading (a metrics scrape) sums the shards.

pub mod histogram;

use std::sync::atomic::{AtomicUsize, Ordering};

/// Shards per sharded value: more than the cores Junction usually runs on, so threads rarely
/// share one.
pub const SHARDS: usize = 16;

/// One shard, alone on its cache lines (128 bytes: adjacent-line prefetching pairs lines).
#[repr(align(128))]
#[derive(Default)]
struct Shard<T>(T);

/// A value kept once per shard; each thread writes to its own.
pub struct Sharded<T> {
    shards: [Shard<T>; SHARDS],
}

impl<T: Default> Default for Sharded<T> {
    fn default() -> Self {
        Sharded {
            shards: std::array::from_fn(|_| Shard::default()),
        }
    }
}

impl<T> Sharded<T> {
    /// This thread's shard.
    #[inline]
    pub fn local(&self) -> &T {
        &self.shards[shard_index()].0
    }

    /// Every shard, for reading.
    pub fn all(&self) -> impl Iterator<Item = &T> {
        self.shards.iter().map(|s| &s.0)
    }
}

impl<T> std::fmt::Debug for Sharded<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sharded")
    }
}

/// This thread's shard number, handed out round-robin the first time a thread asks.
#[inline]
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    INDEX.with(|i| *i)
}

/// Adds `n` to a counter (relaxed: counts need no ordering with anything else).
#[inline]
pub fn add(counter: &std::sync::atomic::AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// The sum of one counter over every shard.
pub fn sum<T>(sharded: &Sharded<T>, counter: impl Fn(&T) -> &std::sync::atomic::AtomicU64) -> u64 {
    sharded
        .all()
        .map(|s| counter(s).load(Ordering::Relaxed))
        .fold(0, u64::wrapping_add)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn adds_from_many_threads_sum_up() {
        let counter: std::sync::Arc<Sharded<AtomicU64>> = std::sync::Arc::default();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let counter = std::sync::Arc::clone(&counter);
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        add(counter.local(), 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(sum(&counter, |c| c), 80_000);
    }
}
