//! The retry keys of an http-poller topic (`retryOnHttpCodes`, `retryMaxAttempts`,
//! `retryBackOffInitialDuration`, `retryBackOffMaxDuration`, `retryBackOffFactor`): their
//! defaults and limits (the poller's `RetryPolicy` takes its defaults from here) and the check
//! of `retryOnHttpCodes`.

use std::time::Duration;

use crate::config::node::{Node, Result};

/// Default `retryOnHttpCodes`.
pub const DEFAULT_RETRY_CODES: [u16; 3] = [500, 503, 504];
/// Default `retryMaxAttempts`.
pub const DEFAULT_RETRY_MAX_ATTEMPTS: u32 = 3;
/// Largest `retryMaxAttempts` (a Junction limit: the seeds give none).
pub const MAX_RETRY_MAX_ATTEMPTS: u32 = 100;
/// Default `retryBackOffInitialDuration`: PT1S.
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Largest `retryBackOffInitialDuration`: PT10S.
pub const MAX_BACKOFF_INITIAL: Duration = Duration::from_secs(10);
/// Default `retryBackOffMaxDuration`: PT10S.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Largest `retryBackOffMaxDuration`: PT60S.
pub const MAX_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Default `retryBackOffFactor`.
pub const DEFAULT_BACKOFF_FACTOR: f64 = 0.5;

pub(super) fn retry_codes(node: &Node) -> Result<Vec<u16>> {
    let mut codes = Vec::new();
    for item in node.array()? {
        let code = item.u64_in(100, 599)? as u16;
        if (200..300).contains(&code) {
            return Err(item.error(format!("{code} is a success status, it is never retried")));
        }
        if codes.contains(&code) {
            return Err(item.error(format!("{code} is listed twice")));
        }
        codes.push(code);
    }
    Ok(codes)
}
