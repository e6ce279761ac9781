//! How a poll's HTTP request (to the target, or to an OAuth2 token endpoint) fails: the Streams
//! error codes ([`codes`]) and [`FetchError`], whose messages never hold header values,
//! tokens, secrets, bodies or query strings; and the classification of reqwest's errors.

use std::error::Error as StdError;
use std::fmt;

/// Streams error codes of the http-poller publisher.
pub mod codes {
    /// Added to the HTTP status of a target error (404 -> 70404). Alone: the request could
    /// not even be built (an invalid URL or header; config validation normally rules it out).
    pub const HTTP_BASE: u32 = 70_000;
    /// Connection error or timeout.
    pub const CONNECTION: u32 = 70_013;
    /// Unknown host (DNS resolution failed).
    pub const UNKNOWN_HOST: u32 = 70_014;
    /// Payload too large.
    pub const PAYLOAD_TOO_LARGE: u32 = 70_015;
    /// The payload is not JSON (also used for an unusable OAuth2 token response).
    pub const NOT_JSON: u32 = 70_016;
    /// The target answered with a redirect, which is not followed.
    pub const REDIRECT: u32 = 70_300;
}

/// A failed poll request. `Display` is the message only; it never holds secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// Streams error code ([`codes`]).
    pub code: u32,
    pub message: String,
    /// The HTTP status of the last response, if there was one.
    pub status: Option<u16>,
    /// Requests sent to the target (0 when none could be sent).
    pub attempts: u32,
}

impl FetchError {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        FetchError {
            code,
            message: message.into(),
            status: None,
            attempts: 0,
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for FetchError {}

/// The error code and a secret-free message for a reqwest error: 70014 when name resolution
/// failed, 70000 when the request could not be built (invalid URL), else 70013 (connection
/// refused or reset, TLS failure, timeout, ...). The URL is left out of the message (its query
/// may hold keys).
pub(crate) fn classify_send_error(e: &reqwest::Error) -> (u32, String) {
    if e.is_builder() {
        return (
            codes::HTTP_BASE,
            format!("invalid request: {}", error_chain(e)),
        );
    }
    let chain = error_chain(e);
    if is_dns_failure(e) {
        return (codes::UNKNOWN_HOST, format!("unknown host: {chain}"));
    }
    if e.is_timeout() {
        return (codes::CONNECTION, format!("timeout: {chain}"));
    }
    (codes::CONNECTION, format!("connection error: {chain}"))
}

/// hyper-util's connector reports resolver failures as a `ConnectError` whose message is
/// "dns error" (the getaddrinfo error below it says "failed to lookup address information").
fn is_dns_failure(e: &reqwest::Error) -> bool {
    if e.is_dns() {
        return true;
    }
    let mut source: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(err) = source {
        let text = err.to_string();
        if text.starts_with("dns error") || text.contains("failed to lookup address") {
            return true;
        }
        source = err.source();
    }
    false
}

/// The error and its sources joined with ": ", without the request URL.
pub(crate) fn error_chain(e: &reqwest::Error) -> String {
    let mut top = e.to_string();
    if let Some(url) = e.url()
        && let Some(stripped) = top.strip_suffix(&format!(" for url ({url})"))
    {
        top = stripped.to_owned();
    }
    let mut parts = vec![top];
    let mut source: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(err) = source {
        let text = err.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        source = err.source();
    }
    parts.join(": ")
}
