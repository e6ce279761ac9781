//! The per-address limit on failed logins: each client address may fail `max_failed_logins`
//! logins in a burst (default 20), then one more per [`LEAK`]; past that, a HELLO from it is
//! refused before any credential is looked at, so a password or ticket cannot be guessed at network speed
//! (issue 12 measured ~1,080 tries a second). One table for the whole process: an attacker
//! gains nothing by switching transports.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How often one failure is forgiven.
pub const LEAK: Duration = Duration::from_secs(1);
/// Addresses tracked before the forgiven ones are swept out (bounds the table's memory).
const SWEEP_AT: usize = 10_000;

/// Failures of one address: `level` as of `at`, leaking one per [`LEAK`].
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at: Instant,
}

impl Bucket {
    fn level_now(&self, now: Instant) -> f64 {
        let leaked = now.duration_since(self.at).as_secs_f64() / LEAK.as_secs_f64();
        (self.level - leaked).max(0.0)
    }
}

#[derive(Debug, Default)]
pub struct FailedLogins {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl FailedLogins {
    /// The process's table.
    pub fn global() -> &'static FailedLogins {
        static TABLE: OnceLock<FailedLogins> = OnceLock::new();
        TABLE.get_or_init(FailedLogins::default)
    }

    /// `Some(wait)` when `ip` has failed `max` times (less one forgiven per second): how
    /// long until it may try again.
    pub fn blocked(&self, ip: IpAddr, max: u32) -> Option<Duration> {
        let now = Instant::now();
        let level = self.buckets.lock().get(&ip)?.level_now(now);
        let over = level - f64::from(max.saturating_sub(1));
        (over > 0.0).then(|| LEAK.mul_f64(over))
    }

    /// Counts a failed login from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, bucket| bucket.level_now(now) > 0.0);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            level: 0.0,
            at: now,
        });
        *bucket = Bucket {
            level: bucket.level_now(now) + 1.0,
            at: now,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_a_burst_of_failures_and_others_are_not() {
        let table = FailedLogins::default();
        let attacker: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..19 {
            table.failed(attacker);
        }
        assert_eq!(table.blocked(attacker, 20), None, "19 failures are allowed");
        table.failed(attacker);
        table.failed(attacker);
        let wait = table
            .blocked(attacker, 20)
            .expect("blocked after the burst");
        assert!(wait > Duration::ZERO && wait <= LEAK * 2, "{wait:?}");
        assert_eq!(table.blocked(other, 20), None);
        // Time forgives: a bucket set back by its leak is open again.
        let back = Instant::now() - LEAK * 3;
        table.buckets.lock().get_mut(&attacker).unwrap().at = back;
        assert_eq!(table.blocked(attacker, 20), None);
    }
}
