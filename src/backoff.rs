//! The arithmetic of retrying over HTTP, shared by the http-poller (`poller::retry`) and the
//! HTTP subscribers (`http_peer::subscriber`): an exponential delay with jitter, and the wait a
//! `Retry-After` header asks for.
//!
//! Pure: the jitter and the current time are arguments, so tests give exact numbers and the
//! callers inject the real randomness and clock.

use std::time::{Duration, SystemTime};

/// The wait before retry `n` (`n = 0` for the first retry): `min(max, initial * 2^n)`, moved by
/// `jitter * factor` of itself (`jitter` in [-1, 1], clamped to that range), then clamped to
/// `[initial, max]` (to `max` alone when `initial > max`).
pub fn exponential(initial: Duration, max: Duration, factor: f64, n: u32, jitter: f64) -> Duration {
    let base = 1u32
        .checked_shl(n)
        .and_then(|m| initial.checked_mul(m))
        .map_or(max, |d| d.min(max));
    let jitter = if jitter.is_finite() {
        jitter.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let factor = if factor.is_finite() {
        factor.max(0.0)
    } else {
        0.0
    };
    let secs = base.as_secs_f64() * (1.0 + jitter * factor);
    let jittered = Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(max);
    jittered.max(initial).min(max)
}

/// A `Retry-After` header value (RFC 9110 10.2.3) as a wait from `now`: delta-seconds
/// (`"120"`) or an HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`, also the obsolete RFC 850 and
/// asctime forms). A date in the past is a zero wait. Uncapped: callers cap it.
pub fn retry_after(header: &str, now: SystemTime) -> Option<Duration> {
    let value = header.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long numbers saturate instead of being rejected.
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A uniformly random jitter in [-1, 1] for [`exponential`].
pub fn random_jitter() -> f64 {
    rand::random_range(-1.0..=1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_doubles_then_caps() {
        let ms = Duration::from_millis;
        let got: Vec<_> = (0..5)
            .map(|n| exponential(ms(100), ms(500), 0.0, n, 1.0))
            .collect();
        assert_eq!(got, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
        assert_eq!(exponential(ms(100), ms(500), 0.2, 1, 1.0), ms(240));
        assert_eq!(exponential(ms(100), ms(500), 0.2, 1, -1.0), ms(160));
    }

    #[test]
    fn retry_after_reads_delta_seconds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(retry_after("", now), None);
        assert_eq!(retry_after("-5", now), None);
        assert_eq!(retry_after("1.5", now), None);
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_reads_http_dates() {
        // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480 - 7);
        let imf = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(retry_after(imf, now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after("Wed Oct 21 07:28:00 2015", now),
            Some(Duration::from_secs(7))
        );
        // In the past: retry at once.
        let later = now + Duration::from_secs(60);
        assert_eq!(retry_after(imf, later), Some(Duration::ZERO));
    }

    #[test]
    fn random_jitter_stays_in_range() {
        for _ in 0..1000 {
            let j = random_jitter();
            assert!((-1.0..=1.0).contains(&j), "{j}");
        }
    }
}
