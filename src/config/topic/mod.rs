//! A Streams http-poller topic definition, parsed and validated into [`TopicConfig`].
//!
//! The keys are those of the Streams http-poller publisher, so a Streams topic definition
//! pastes in unchanged:
//!
//! ```json
//! {"name": "com.example.weather",
//!  "publisher": {"type": "http-poller",
//!                "config": {"url": "https://api.example.com/weather", "pollingPeriod": "PT5S"},
//!                "alwaysOn": true,
//!                "role": "poller"},
//!  "subscriptionMode": "snapshot-patch"}
//! ```
//!
//! Everything is checked here: unknown keys, ISO-8601 durations and their ranges, URLs, JSON
//! pointers (RFC 6901), header names and values, URL-safe query parameter names (no name used
//! twice across `url`, `computedQueryParameters` and `pagination`), Java `date-time` patterns.
//! Errors carry the JSON path of the key at fault. Secrets (`clientSecret`) never appear in
//! errors or `Debug`; neither do header values, nor the password of a URL.
//!
//! Keys beyond Streams (README.md, "http-poller topics"): `publisher.role`, `publisher.alwaysOn`,
//! `subscriptionMode`, and in `config`: `payloadLimit`, `timeout`, `transform`,
//! `pagination.maxPages`.
//!
//! The config loader calls this for each `realms[].topics[]` entry; the topics API for each
//! created or patched topic. The types built here are the ones the poller runs on.
//!
//! This file holds the topic and its `publisher.config`; each group of keys has its own file:
//! `request` (`url`, `headers`), [`oauth2`] (`authorization`), [`query`]
//! (`computedQueryParameters`, query parameter names), [`pagination`], [`retry`],
//! [`pointer`](mod@pointer) (JSON pointers), `duration` (ISO-8601 durations), [`time_pattern`]
//! (Java date-time patterns), [`transform`] (the jq filter) and [`redact`] (URLs in logs and
//! summaries).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::Value;
use url::Url;

mod duration;
pub mod oauth2;
pub mod pagination;
pub mod pointer;
pub mod query;
pub mod redact;
pub(crate) mod request;
pub mod retry;
pub mod time_pattern;
pub mod transform;

pub use oauth2::{ClientAuthMode, OAuth2};
pub use pagination::{
    DEFAULT_MAX_PAGES, DEFAULT_PAGE_SIZE, NextReference, NextReferenceKind, PageSize, Pagination,
    PaginationKind,
};
pub use pointer::{PointerSyntaxError, check_pointer};
pub use query::{ComputedKind, ComputedParameter, Reference, is_url_safe};
pub use redact::redact_url;
pub use retry::{
    DEFAULT_BACKOFF_FACTOR, DEFAULT_BACKOFF_INITIAL, DEFAULT_BACKOFF_MAX, DEFAULT_RETRY_CODES,
    DEFAULT_RETRY_MAX_ATTEMPTS, MAX_BACKOFF_INITIAL, MAX_BACKOFF_MAX, MAX_RETRY_MAX_ATTEMPTS,
};
pub use transform::{Transform, TransformError};

use duration::{duration_in, iso};
use oauth2::oauth2;
use pagination::pagination;
use pointer::json_pointer;
use query::computed_parameters;
use request::{headers, http_url};
use retry::retry_codes;

use crate::config::ConfigError;
use crate::config::node::{Node, Result};

/// Default `pollingPeriod`: PT5S.
pub const DEFAULT_POLLING_PERIOD: Duration = Duration::from_secs(5);
/// Smallest `pollingPeriod`: PT0.5S.
pub const MIN_POLLING_PERIOD: Duration = Duration::from_millis(500);
/// Largest `pollingPeriod`: PT1H.
pub const MAX_POLLING_PERIOD: Duration = Duration::from_secs(3600);
/// Default `payloadLimit`: 1 MiB, the Streams limit of a consolidated payload.
pub const DEFAULT_PAYLOAD_LIMIT: usize = 1024 * 1024;
/// Largest `payloadLimit`: 64 MiB.
pub const MAX_PAYLOAD_LIMIT: usize = 64 * 1024 * 1024;
/// Default `timeout` of one HTTP request (token requests included): PT30S.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Smallest `timeout`: PT1S.
pub const MIN_TIMEOUT: Duration = Duration::from_secs(1);
/// Largest `timeout`: PT5M.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// One topic of a realm's `topics` list.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicConfig {
    /// `name` (required): the WAMP topic URI the poller publishes to (loose URI rules:
    /// non-empty dot-separated components without whitespace or `#`).
    pub name: String,
    /// `publisher.role` (default: none, meaning the built-in trusted role): the realm role of
    /// the internal publishing session. Whether the role exists is the realm loader's check.
    pub role: Option<String>,
    /// `publisher.alwaysOn` (default `false`): poll even when the topic has no subscriber.
    pub always_on: bool,
    /// `subscriptionMode` (default `snapshot-patch`).
    pub subscription_mode: SubscriptionMode,
    /// `publisher.config` (required; `publisher.type` must be `http-poller`).
    pub poller: PollerConfig,
}

/// `subscriptionMode`: what subscribers receive when the payload changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionMode {
    /// `snapshot-patch` (default): a snapshot first, then RFC 6902 patches.
    #[default]
    SnapshotPatch,
    /// `snapshot-only`: full snapshots only.
    SnapshotOnly,
}

/// `publisher.config` of an `http-poller` publisher.
#[derive(Clone, PartialEq)]
pub struct PollerConfig {
    /// `url` (required): the target, an absolute `http` or `https` URL with a host.
    pub url: Url,
    /// `pollingPeriod` (default PT5S): ISO-8601, PT0.5S..=PT1H.
    pub polling_period: Duration,
    /// `payloadPointer` (default: none, the whole body): an RFC 6901 JSON pointer.
    pub payload_pointer: Option<String>,
    /// `headers` (default: none): header name -> value, sent as configured. Names are valid
    /// HTTP tokens, unique ignoring case; values are visible ASCII, space or tab. `Debug` shows
    /// the names only (values may be API keys).
    pub headers: BTreeMap<String, String>,
    /// `retryOnHttpCodes` (default `[500, 503, 504]`): statuses 100..=599 that trigger a retry,
    /// no duplicates, no 2xx.
    pub retry_on_http_codes: Vec<u16>,
    /// `retryMaxAttempts` (default 3): retries after the first attempt, 0..=100.
    pub retry_max_attempts: u32,
    /// `retryBackOffInitialDuration` (default PT1S): ISO-8601, PT0S..=PT10S.
    pub retry_backoff_initial: Duration,
    /// `retryBackOffMaxDuration` (default PT10S): ISO-8601, PT0S..=PT60S, at least the initial
    /// duration.
    pub retry_backoff_max: Duration,
    /// `retryBackOffFactor` (default 0.5): jitter fraction, 0..=1.
    pub retry_backoff_factor: f64,
    /// `computedQueryParameters` (default: none): in key order.
    pub computed_query_parameters: Vec<ComputedParameter>,
    /// `authorization` (default: none).
    pub authorization: Option<OAuth2>,
    /// `pagination` (default: none, one request per poll).
    pub pagination: Option<Pagination>,
    /// `payloadLimit` (default 1 MiB, a Junction key): the largest merged payload in bytes,
    /// 1..=64 MiB.
    pub payload_limit: usize,
    /// `timeout` (default PT30S, a Junction key): the limit of one HTTP request, ISO-8601,
    /// PT1S..=PT5M.
    pub timeout: Duration,
    /// `transform` (default: none, a Junction key): a jq filter applied to the payload,
    /// compiled here to validate it (the poller compiles its own copy).
    pub transform: Option<String>,
}

impl fmt::Debug for PollerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut url = self.url.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some("redacted"));
        }
        let headers: BTreeMap<&str, &str> = self
            .headers
            .keys()
            .map(|name| (name.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("PollerConfig")
            .field("url", &url.as_str())
            .field("polling_period", &self.polling_period)
            .field("payload_pointer", &self.payload_pointer)
            .field("headers", &headers)
            .field("retry_on_http_codes", &self.retry_on_http_codes)
            .field("retry_max_attempts", &self.retry_max_attempts)
            .field("retry_backoff_initial", &self.retry_backoff_initial)
            .field("retry_backoff_max", &self.retry_backoff_max)
            .field("retry_backoff_factor", &self.retry_backoff_factor)
            .field("computed_query_parameters", &self.computed_query_parameters)
            .field("authorization", &self.authorization)
            .field("pagination", &self.pagination)
            .field("payload_limit", &self.payload_limit)
            .field("timeout", &self.timeout)
            .field("transform", &self.transform)
            .finish()
    }
}

/// Parses one topic definition at JSON path `path` (e.g. `workers[0].realms[0].topics[2]`);
/// `$NAME` secrets come from the process environment.
pub fn parse_topic(value: &Value, path: &str) -> std::result::Result<TopicConfig, ConfigError> {
    parse_topic_with_env(value, path, &|name| std::env::var(name).ok())
}

/// [`parse_topic`], reading `$NAME` / `${NAME}` secrets through `env`.
pub fn parse_topic_with_env(
    value: &Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<TopicConfig, ConfigError> {
    let obj = Node::new(value, path).object()?;
    obj.only(&["name", "publisher", "subscriptionMode"])?;
    let name_node = obj.required("name")?;
    let name = name_node.str()?;
    if !is_loose_uri(name) {
        return Err(name_node.error(format!("topic name \"{name}\" is not a valid URI")));
    }
    let subscription_mode = obj
        .opt("subscriptionMode", |n| {
            Ok(match n.one_of(&["snapshot-patch", "snapshot-only"])? {
                "snapshot-only" => SubscriptionMode::SnapshotOnly,
                _ => SubscriptionMode::SnapshotPatch,
            })
        })?
        .unwrap_or_default();

    let publisher = obj.required("publisher")?.object()?;
    publisher.only(&["type", "config", "alwaysOn", "role"])?;
    publisher.required("type")?.one_of(&["http-poller"])?;
    let always_on = publisher.opt("alwaysOn", Node::bool)?.unwrap_or(false);
    let role = publisher.opt("role", |n| n.non_empty_str().map(str::to_string))?;
    let poller = parse_poller(&publisher.required("config")?, env)?;
    Ok(TopicConfig {
        name: name.to_string(),
        role,
        always_on,
        subscription_mode,
        poller,
    })
}

const POLLER_KEYS: &[&str] = &[
    "url",
    "pollingPeriod",
    "payloadPointer",
    "headers",
    "authorization",
    "retryOnHttpCodes",
    "retryMaxAttempts",
    "retryBackOffInitialDuration",
    "retryBackOffMaxDuration",
    "retryBackOffFactor",
    "computedQueryParameters",
    "pagination",
    "payloadLimit",
    "timeout",
    "transform",
];

fn parse_poller(node: &Node, env: &dyn Fn(&str) -> Option<String>) -> Result<PollerConfig> {
    let obj = node.object()?;
    obj.only(POLLER_KEYS)?;
    let url = http_url(&obj.required("url")?)?;
    let polling_period = obj
        .opt("pollingPeriod", |n| {
            duration_in(n, MIN_POLLING_PERIOD, MAX_POLLING_PERIOD)
        })?
        .unwrap_or(DEFAULT_POLLING_PERIOD);
    let payload_pointer = obj.opt("payloadPointer", json_pointer)?;
    let authorization = obj.opt("authorization", |n| oauth2(n, env))?;
    let headers = obj
        .opt("headers", |n| headers(n, authorization.is_some()))?
        .unwrap_or_default();
    let retry_on_http_codes = obj
        .opt("retryOnHttpCodes", retry_codes)?
        .unwrap_or_else(|| DEFAULT_RETRY_CODES.to_vec());
    let retry_max_attempts = obj
        .opt("retryMaxAttempts", |n| {
            Ok(n.u64_in(0, u64::from(MAX_RETRY_MAX_ATTEMPTS))? as u32)
        })?
        .unwrap_or(DEFAULT_RETRY_MAX_ATTEMPTS);
    let retry_backoff_initial = obj
        .opt("retryBackOffInitialDuration", |n| {
            duration_in(n, Duration::ZERO, MAX_BACKOFF_INITIAL)
        })?
        .unwrap_or(DEFAULT_BACKOFF_INITIAL);
    let retry_backoff_max = match obj.get("retryBackOffMaxDuration") {
        Some(n) => {
            let max = duration_in(&n, Duration::ZERO, MAX_BACKOFF_MAX)?;
            if max < retry_backoff_initial {
                return Err(n.error(format!(
                    "{} is below retryBackOffInitialDuration {}",
                    n.str()?,
                    iso(retry_backoff_initial)
                )));
            }
            max
        }
        // The default max (PT10S) is never below an initial duration (at most PT10S).
        None => DEFAULT_BACKOFF_MAX,
    };
    let retry_backoff_factor = obj
        .opt("retryBackOffFactor", |n| {
            let f = n.f64()?;
            if !(0.0..=1.0).contains(&f) {
                return Err(n.error(format!("{f} is out of range (0..=1)")));
            }
            Ok(f)
        })?
        .unwrap_or(DEFAULT_BACKOFF_FACTOR);

    // Query parameter names: each used once across url, computed parameters and pagination.
    let mut query_names: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, _)| (name.into_owned(), "url".to_string()))
        .collect();
    let computed_query_parameters = obj
        .opt("computedQueryParameters", |n| {
            computed_parameters(n, &mut query_names)
        })?
        .unwrap_or_default();
    let pagination = obj.opt("pagination", |n| pagination(n, &mut query_names))?;
    let payload_limit = obj
        .opt("payloadLimit", |n| {
            Ok(n.u64_in(1, MAX_PAYLOAD_LIMIT as u64)? as usize)
        })?
        .unwrap_or(DEFAULT_PAYLOAD_LIMIT);
    let timeout = obj
        .opt("timeout", |n| duration_in(n, MIN_TIMEOUT, MAX_TIMEOUT))?
        .unwrap_or(DEFAULT_TIMEOUT);
    let transform = obj.opt("transform", |n| {
        let filter = n.non_empty_str()?;
        Transform::compile(filter).map_err(|e| n.error(e.to_string()))?;
        Ok(filter.to_string())
    })?;
    Ok(PollerConfig {
        url,
        polling_period,
        payload_pointer,
        headers,
        retry_on_http_codes,
        retry_max_attempts,
        retry_backoff_initial,
        retry_backoff_max,
        retry_backoff_factor,
        computed_query_parameters,
        authorization,
        pagination,
        payload_limit,
        timeout,
        transform,
    })
}

/// Loose WAMP URI: non-empty dot-separated components without whitespace or `#`.
fn is_loose_uri(uri: &str) -> bool {
    uri.split('.').all(|component| {
        !component.is_empty() && component.chars().all(|c| !c.is_whitespace() && c != '#')
    })
}

#[cfg(test)]
mod tests;
