//! HTTP subscribers as configured (`realms[].http_subscribers[]`, and Crossbar's
//! `MessageForwarder` components): an internal session of a realm subscribes to a topic and
//! sends every event to a URL. The runtime is `http_peer::subscriber`.

use std::time::Duration;

use crate::config::secret::Secret;
use crate::wamp::uri::MatchPolicy;

/// Default `timeout`: seconds per request.
pub const DEFAULT_SUBSCRIBER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `retry.max_attempts` (the first request counts).
pub const DEFAULT_SUBSCRIBER_ATTEMPTS: u32 = 5;
/// Default `retry.initial_delay`.
pub const DEFAULT_SUBSCRIBER_INITIAL_DELAY: Duration = Duration::from_millis(500);
/// Default `retry.max_delay` (also the cap of a `Retry-After`).
pub const DEFAULT_SUBSCRIBER_MAX_DELAY: Duration = Duration::from_secs(30);
/// Default `queue`: events waiting for the forwarder.
pub const DEFAULT_SUBSCRIBER_QUEUE: usize = 10_000;
/// Defaults of `batch.max_events` and `batch.max_delay_ms`.
pub const DEFAULT_BATCH_EVENTS: usize = 100;
pub const DEFAULT_BATCH_DELAY: Duration = Duration::from_millis(50);

/// One HTTP subscriber.
#[derive(Debug, Clone)]
pub struct HttpSubscriberConfig {
    /// JSON path of its definition, e.g. `workers[0].realms[0].http_subscribers[1]`.
    pub path: String,
    /// `name`, else the JSON path: the metrics label (never the URL, which may hold secrets).
    pub name: String,
    pub topic: String,
    pub policy: MatchPolicy,
    /// The URL as written; a secret because a query string may carry a token.
    pub url: Secret,
    /// The URL without its query string, for logs and `check`.
    pub url_shown: String,
    pub method: SubscriberMethod,
    /// The role the subscription is made and authorized as.
    pub role: String,
    /// Extra request headers; values may be `$VAR` secrets, so none is ever printed.
    pub headers: Vec<(String, Secret)>,
    pub timeout: Duration,
    pub retry: SubscriberRetry,
    /// `signature.secret`: sign each body (`Junction-Signature` header).
    pub signature: Option<Secret>,
    pub batch: Option<Batching>,
    pub queue: usize,
    pub body: BodyShape,
    /// `expectedcode` (Crossbar): the only status that counts as delivered. `None`: any 2xx.
    pub expected_status: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriberMethod {
    Post,
    Put,
}

/// `retry`: attempts per event (or batch) and the exponential backoff between them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubscriberRetry {
    /// Attempts in all, the first request included (1: never retried).
    pub max_attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

/// `batch`: up to `max_events` events per request, waiting at most `max_delay` for more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    pub max_events: usize,
    pub max_delay: Duration,
}

/// What a request body holds per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyShape {
    /// `{"topic", "publication", "args", "kwargs", "timestamp"}`.
    Junction,
    /// Crossbar's `MessageForwarder`: exactly `{"args": [...], "kwargs": {...}}`.
    Crossbar,
}
