//! Log lines that a peer can cause over and over (connections refused, sessions that never
//! joined, failed logins) written at most once per interval, each saying how many were left
//! out: an attacker cannot flood the log, and an operator still sees that it happens.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The shortest time between two lines of one [`Throttle`].
const INTERVAL_MS: u64 = 1_000;

/// One kind of line (a `static` per call site).
#[derive(Debug, Default)]
pub struct Throttle {
    /// Milliseconds since [`epoch`] of the last line written, plus one (0: none yet).
    last: AtomicU64,
    /// Lines left out since the last one written.
    suppressed: AtomicU64,
}

impl Throttle {
    pub const fn new() -> Throttle {
        Throttle {
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be written now (`n` were left out since the last one);
    /// `None` when this one is left out.
    pub fn admit(&self) -> Option<u64> {
        self.admit_at(u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1)
    }

    /// [`admit`](Self::admit) at `now` (milliseconds since [`epoch`], plus one).
    fn admit_at(&self, now: u64) -> Option<u64> {
        let last = self.last.load(Ordering::Relaxed);
        let due = last == 0 || now >= last + INTERVAL_MS;
        if due
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// `" (and N more like it since the last line)"`, or nothing when none were left out.
pub fn and_more(suppressed: u64) -> String {
    if suppressed == 0 {
        String::new()
    } else {
        format!(" (and {suppressed} more like it since the last such line)")
    }
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_counting_the_rest() {
        let throttle = Throttle::new();
        assert_eq!(throttle.admit_at(5), Some(0));
        for now in [6, 500, 1004] {
            assert_eq!(throttle.admit_at(now), None);
        }
        assert_eq!(throttle.admit_at(1005), Some(3), "a second later");
        assert_eq!(throttle.admit_at(1006), None);
        assert_eq!(and_more(0), "");
        assert!(and_more(3).contains("3 more"));
    }
}
