//! Latency histograms with fixed buckets (50 us to 60 s), sharded like every hot-path counter
//! (see [`stats`](super)): observing is a short scan and two relaxed adds on this thread's
//! cache line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::Sharded;

/// Upper bounds of the buckets, in nanoseconds; one more bucket (`+Inf`) follows.
const BOUNDS_NS: [u64; 19] = [
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
    60_000_000_000,
];
const BUCKETS: usize = BOUNDS_NS.len() + 1;

/// One shard's counts.
#[derive(Default)]
pub struct Cells {
    /// Observations per bucket (not cumulative).
    buckets: [AtomicU64; BUCKETS],
    sum_ns: AtomicU64,
}

impl Cells {
    #[inline]
    pub fn observe_ns(&self, ns: u64) {
        let bucket = BOUNDS_NS
            .iter()
            .position(|&bound| ns <= bound)
            .unwrap_or(BOUNDS_NS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    #[inline]
    pub fn observe(&self, duration: Duration) {
        self.observe_ns(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
    }

    /// What this shard holds, added to `into`.
    pub fn add_to(&self, into: &mut Snapshot) {
        for (total, cell) in into.buckets.iter_mut().zip(&self.buckets) {
            *total += cell.load(Ordering::Relaxed);
        }
        into.sum_ns = into
            .sum_ns
            .wrapping_add(self.sum_ns.load(Ordering::Relaxed));
    }
}

/// A histogram of its own (one set of shards).
#[derive(Default, Debug)]
pub struct Histogram(Sharded<Cells>);

impl Histogram {
    #[inline]
    pub fn observe(&self, duration: Duration) {
        self.0.local().observe(duration);
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for shard in self.0.all() {
            shard.add_to(&mut snapshot);
        }
        snapshot
    }
}

/// A histogram's counts at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    buckets: [u64; BUCKETS],
    sum_ns: u64,
}

impl Snapshot {
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    pub fn sum_seconds(&self) -> f64 {
        self.sum_ns as f64 / 1e9
    }

    /// (upper bound in seconds, count in that bucket alone) per bucket, `+Inf` last: what
    /// prometheus-client's encoder takes (it writes them cumulated, as the format wants).
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        self.buckets
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let bound = BOUNDS_NS
                    .get(i)
                    .map_or(f64::INFINITY, |ns| *ns as f64 / 1e9);
                (bound, *n)
            })
            .collect()
    }

    /// Adds another snapshot's counts (e.g. several label sets summed).
    pub fn merge(&mut self, other: &Snapshot) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.sum_ns = self.sum_ns.wrapping_add(other.sum_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_buckets() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(40)); // <= 50 us
        h.observe(Duration::from_micros(50)); // <= 50 us (bounds are inclusive)
        h.observe(Duration::from_millis(3)); // <= 5 ms
        h.observe(Duration::from_secs(100)); // +Inf
        let s = h.snapshot();
        assert_eq!(s.count(), 4);
        let buckets = s.buckets();
        assert_eq!(buckets[0], (50e-6, 2));
        assert_eq!(buckets[6], (5e-3, 1));
        assert_eq!(buckets[BUCKETS - 2].1, 0);
        assert_eq!(buckets[BUCKETS - 1], (f64::INFINITY, 1));
        assert!((s.sum_seconds() - 100.00309).abs() < 1e-9);
    }
}
