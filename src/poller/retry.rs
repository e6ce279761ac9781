//! Retry policy of an http-poller request (README.md, "http-poller topics": the retry keys):
//! which statuses are retried, how long to wait before each retry, and how a
//! `Retry-After` header is read.
//!
//! The arithmetic (exponential delay with jitter, `Retry-After`) is [`crate::backoff`]'s, shared
//! with the HTTP subscribers. Everything here is pure: the jitter and the current time are arguments, so tests give exact
//! numbers and the fetcher injects the real randomness and clock.

use std::time::{Duration, SystemTime};

pub use crate::backoff::{random_jitter, retry_after};

use crate::config::topic::{
    DEFAULT_BACKOFF_FACTOR, DEFAULT_BACKOFF_INITIAL, DEFAULT_BACKOFF_MAX, DEFAULT_RETRY_CODES,
    DEFAULT_RETRY_MAX_ATTEMPTS,
};

/// The Streams retry keys: `retryOnHttpCodes`, `retryMaxAttempts`, `retryBackOffInitialDuration`,
/// `retryBackOffMaxDuration`, `retryBackOffFactor` (their defaults are `config::topic`'s).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// HTTP statuses that trigger a retry (default [`DEFAULT_RETRY_CODES`]).
    pub retry_on: Vec<u16>,
    /// At most this many retries after the first request (default [`DEFAULT_RETRY_MAX_ATTEMPTS`]).
    pub max_attempts: u32,
    /// Delay before the first retry (default [`DEFAULT_BACKOFF_INITIAL`]).
    pub initial: Duration,
    /// Longest delay between two attempts, also the cap of `Retry-After` (default
    /// [`DEFAULT_BACKOFF_MAX`]).
    pub max: Duration,
    /// Jitter factor: a delay `d` becomes `d +/- factor * d` (default
    /// [`DEFAULT_BACKOFF_FACTOR`]).
    pub factor: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retry_on: DEFAULT_RETRY_CODES.to_vec(),
            max_attempts: DEFAULT_RETRY_MAX_ATTEMPTS,
            initial: DEFAULT_BACKOFF_INITIAL,
            max: DEFAULT_BACKOFF_MAX,
            factor: DEFAULT_BACKOFF_FACTOR,
        }
    }
}

impl RetryPolicy {
    /// Whether `status` is one of `retryOnHttpCodes`.
    pub fn retries_status(&self, status: u16) -> bool {
        self.retry_on.contains(&status)
    }

    /// The wait before retry `n` (`n = 0` for the first retry): `min(max, initial * 2^n)`, moved
    /// by `jitter * factor` of itself (`jitter` in [-1, 1], clamped to that range), then clamped
    /// to `[initial, max]` (to `max` alone when `initial > max`).
    pub fn delay(&self, n: u32, jitter: f64) -> Duration {
        crate::backoff::exponential(self.initial, self.max, self.factor, n, jitter)
    }

    /// A `Retry-After` header (delta-seconds or HTTP-date) as a wait from `now`, capped by
    /// [`RetryPolicy::max`]. `None` when the header is neither form.
    pub fn retry_after(&self, header: &str, now: SystemTime) -> Option<Duration> {
        retry_after(header, now).map(|d| d.min(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn defaults_are_the_streams_defaults() {
        let p = RetryPolicy::default();
        assert_eq!(p.retry_on, [500, 503, 504]);
        assert_eq!(p.max_attempts, 3);
        assert_eq!(p.initial, ms(1000));
        assert_eq!(p.max, ms(10_000));
        assert_eq!(p.factor, 0.5);
        assert!(p.retries_status(503));
        assert!(!p.retries_status(429));
        assert!(!p.retries_status(404));
    }

    #[test]
    fn delay_doubles_up_to_max_without_jitter() {
        let p = RetryPolicy::default();
        let got: Vec<_> = (0..6).map(|n| p.delay(n, 0.0)).collect();
        assert_eq!(
            got,
            [
                ms(1000),
                ms(2000),
                ms(4000),
                ms(8000),
                ms(10_000),
                ms(10_000)
            ]
        );
    }

    #[test]
    fn jitter_moves_by_factor_of_the_delay_and_is_clamped() {
        let p = RetryPolicy::default();
        // n = 0: 1 s +/- 0.5 s, clamped below by initial.
        assert_eq!(p.delay(0, 1.0), ms(1500));
        assert_eq!(p.delay(0, -1.0), ms(1000));
        assert_eq!(p.delay(0, 0.5), ms(1250));
        // n = 2: 4 s +/- 2 s.
        assert_eq!(p.delay(2, 1.0), ms(6000));
        assert_eq!(p.delay(2, -1.0), ms(2000));
        assert_eq!(p.delay(2, -0.5), ms(3000));
        // n = 3: 8 s + 4 s clamped to max; 8 s - 4 s.
        assert_eq!(p.delay(3, 1.0), ms(10_000));
        assert_eq!(p.delay(3, -1.0), ms(4000));
        // n = 4: base is max (10 s); - 5 s.
        assert_eq!(p.delay(4, -1.0), ms(5000));
        // Out-of-range jitter counts as +/- 1; NaN as 0.
        assert_eq!(p.delay(2, 7.0), ms(6000));
        assert_eq!(p.delay(2, f64::NAN), ms(4000));
    }

    #[test]
    fn delay_handles_huge_attempt_numbers_and_zero_durations() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(31, 0.0), ms(10_000));
        assert_eq!(p.delay(32, 0.0), ms(10_000));
        assert_eq!(p.delay(u32::MAX, -1.0), ms(5000));
        let zero = RetryPolicy {
            initial: Duration::ZERO,
            max: Duration::ZERO,
            ..RetryPolicy::default()
        };
        assert_eq!(zero.delay(0, 1.0), Duration::ZERO);
        let no_jitter = RetryPolicy {
            factor: 0.0,
            initial: ms(250),
            max: ms(60_000),
            ..RetryPolicy::default()
        };
        assert_eq!(no_jitter.delay(3, 1.0), ms(2000));
        // initial above max (rejected at config load): max wins.
        let inverted = RetryPolicy {
            initial: ms(5000),
            max: ms(2000),
            ..RetryPolicy::default()
        };
        assert_eq!(inverted.delay(0, 0.0), ms(2000));
    }

    #[test]
    fn policy_caps_retry_after_by_max() {
        let p = RetryPolicy::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480 - 30);
        assert_eq!(p.retry_after("3", now), Some(ms(3000)));
        assert_eq!(p.retry_after("3600", now), Some(ms(10_000)));
        assert_eq!(
            p.retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(ms(10_000))
        );
        assert_eq!(p.retry_after("garbage", now), None);
    }
}
