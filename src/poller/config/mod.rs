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
//! Keys beyond Streams (see poller.md): `publisher.role`, `publisher.alwaysOn`,
//! `subscriptionMode`, and in `config`: `payloadLimit`, `timeout`, `transform`,
//! `pagination.maxPages`.
//!
//! The config loader calls this for each `realms[].topics[]` entry; the topics API for each
//! created or patched topic.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::config::ConfigError;
use crate::config::node::{Node, Obj, Result};
use crate::config::secret::Secret;
use crate::poller::time_pattern::{DEFAULT_PATTERN, TimePattern};

/// Default `pollingPeriod`: PT5S.
pub const DEFAULT_POLLING_PERIOD: Duration = Duration::from_secs(5);
/// Smallest `pollingPeriod`: PT0.5S.
pub const MIN_POLLING_PERIOD: Duration = Duration::from_millis(500);
/// Largest `pollingPeriod`: PT1H.
pub const MAX_POLLING_PERIOD: Duration = Duration::from_secs(3600);
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
/// Default `pagination.maxPages`.
pub const DEFAULT_MAX_PAGES: u32 = 1000;
/// Default `pageSize.value` / `limit.value`.
pub const DEFAULT_PAGE_SIZE: u64 = 100;

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

/// One entry of `computedQueryParameters`: a query parameter computed from the last-success
/// instant of the poll.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputedParameter {
    /// The entry's key: the query parameter name, URL-safe (RFC 3986 unreserved characters:
    /// `A-Z a-z 0-9 - . _ ~`), not empty.
    pub name: String,
    /// `type` (required): `date-time` or `timestamp`, with their own keys.
    pub kind: ComputedKind,
    /// `reference` (default `last-success`, the only value).
    pub reference: Reference,
}

/// `type` of a computed query parameter, with the keys that belong to it.
#[derive(Debug, Clone, PartialEq)]
pub enum ComputedKind {
    /// `date-time`: the instant formatted in UTC with a Java `DateTimeFormatter` pattern.
    DateTime {
        /// `pattern` (default `yyyy-MM-dd'T'HH:mm:ssXXX`).
        pattern: TimePattern,
        /// `initialValue` (default: none, meaning `now - pollingPeriod`): sent as given before
        /// the first success. A non-empty string; not checked against `pattern`.
        initial_value: Option<String>,
    },
    /// `timestamp`: the instant as a Unix timestamp.
    Timestamp {
        /// `useMilliseconds` (default `false`): milliseconds instead of seconds.
        milliseconds: bool,
        /// `initialValue` (default: none, meaning `now - pollingPeriod`): a non-negative
        /// integer in the unit above, sent before the first success.
        initial_value: Option<u64>,
    },
}

/// `reference` of a computed query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reference {
    /// `last-success`: the start of the last cycle whose requests all succeeded.
    #[default]
    LastSuccess,
}

/// `authorization`: OAuth2 client credentials (`type` must be `oauth2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2 {
    /// `provider` (required): the token endpoint, an absolute `http` or `https` URL.
    pub provider: Url,
    /// `clientId` (required, not empty).
    pub client_id: String,
    /// `clientSecret` (required, not empty): literal, or `$NAME` / `${NAME}` read from the
    /// environment variable NAME. Never printed.
    pub client_secret: Secret,
    /// `scope` (default: none): sent as the `scope` form field.
    pub scope: Option<String>,
    /// `mode` (default `header`).
    pub mode: ClientAuthMode,
}

/// `authorization.mode`: how the client credentials reach the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuthMode {
    /// `header` (default): HTTP Basic (RFC 6749 2.3.1).
    #[default]
    Header,
    /// `body`: `client_id` and `client_secret` form fields.
    Body,
}

/// `pagination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pagination {
    /// `mode` (required) with the keys of that mode.
    pub kind: PaginationKind,
    /// `nextReference` (required).
    pub next_reference: NextReference,
    /// `maxPages` (default 1000, a Junction key): pages per poll before giving up with an
    /// error; at least 1.
    pub max_pages: u32,
}

/// `pagination.mode` and its parameters. Every parameter name is URL-safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaginationKind {
    /// `page`.
    Page {
        /// `page.parameterName` (default `page`).
        parameter: String,
        /// `page.initial` (default 1): the first page index.
        initial: u64,
        /// `pageSize` (default `pageSize` = 100).
        page_size: PageSize,
    },
    /// `offset`.
    Offset {
        /// `offset.parameterName` (default `offset`).
        parameter: String,
        /// `limit.parameterName` (default `limit`).
        limit_parameter: String,
        /// `limit.value` (default 100, at least 1): items per page.
        limit: u64,
        /// `offset.initial` (default 1, as the seeds document it): the first offset.
        initial: u64,
    },
    /// `keyset`.
    Keyset {
        /// `key.parameterName` (default `since_key`).
        parameter_name: String,
        /// `pageSize` (default `pageSize` = 100).
        page_size: PageSize,
    },
    /// `cursor`.
    Cursor {
        /// `cursor.parameterName` (default `cursor`).
        parameter_name: String,
        /// `pageSize` (default `pageSize` = 100).
        page_size: PageSize,
    },
}

/// `pageSize` of the page, keyset and cursor modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSize {
    /// `pageSize.parameterName` (default `pageSize`).
    pub parameter_name: String,
    /// `pageSize.value` (default 100, at least 1).
    pub value: u64,
}

/// `pagination.nextReference`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextReference {
    /// `location: body`.
    Body {
        /// `pointer` (required): RFC 6901 pointer to the next reference in the body.
        pointer: String,
        /// `type` (required).
        kind: NextReferenceKind,
    },
    /// `location: header`: the `rel="next"` link of the `Link` header (no other key).
    LinkHeader,
}

/// `nextReference.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextReferenceKind {
    /// `uri`: the reference is a URI, resolved against the request URL.
    Uri,
    /// `value`: the reference is the value of the mode's parameter.
    Value,
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
        crate::poller::select::Transform::compile(filter).map_err(|e| n.error(e.to_string()))?;
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

/// An absolute `http`/`https` URL with a host. The URL text is not repeated in errors (its
/// query or user info may hold a key).
fn http_url(node: &Node) -> Result<Url> {
    let text = node.str()?;
    let url =
        Url::parse(text).map_err(|e| node.error(format!("not a valid absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(node.error(format!(
            "URL scheme must be http or https, found \"{}\"",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(node.error("URL has no host"));
    }
    Ok(url)
}

/// An ISO-8601 duration (Java's `Duration.parse` form for hours, minutes and seconds, such as
/// `PT5S`, `PT0.5S`, `PT1M30S`) within `min..=max`.
fn duration_in(node: &Node, min: Duration, max: Duration) -> Result<Duration> {
    let text = node.str()?;
    let signed = parse_iso_duration(text).ok_or_else(|| {
        node.error(format!(
            "expected an ISO-8601 duration such as PT5S, found \"{text}\""
        ))
    })?;
    let duration = Duration::try_from(signed).unwrap_or(Duration::ZERO);
    if signed.is_negative() || duration < min {
        return Err(node.error(format!("{text} is below the minimum {}", iso(min))));
    }
    if duration > max {
        return Err(node.error(format!("{text} is above the maximum {}", iso(max))));
    }
    Ok(duration)
}

/// jiff's ISO-8601 parser, refusing its "friendly" format (`5s`): the text must start with
/// `P` (after an optional sign), as in Java.
fn parse_iso_duration(text: &str) -> Option<jiff::SignedDuration> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !unsigned.starts_with(['P', 'p']) {
        return None;
    }
    text.parse().ok()
}

/// A duration in ISO-8601 form (`PT0.5S`, `PT1H`).
fn iso(duration: Duration) -> String {
    jiff::SignedDuration::try_from(duration)
        .map(|d| d.to_string())
        .unwrap_or_else(|_| format!("{duration:?}"))
}

/// An RFC 6901 JSON pointer: empty, or `/`-separated tokens where `~` is only in `~0`, `~1`.
fn json_pointer(node: &Node) -> Result<String> {
    let text = node.str()?;
    check_json_pointer(text).map_err(|message| node.error(message))?;
    Ok(text.to_string())
}

fn check_json_pointer(text: &str) -> std::result::Result<(), String> {
    if !text.is_empty() && !text.starts_with('/') {
        return Err(format!(
            "\"{text}\" is not a JSON pointer (RFC 6901): it must be empty or start with '/'"
        ));
    }
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some((_, '0' | '1'))) {
            return Err(format!(
                "\"{text}\" is not a JSON pointer (RFC 6901): '~' at {at} must be followed by 0 or 1"
            ));
        }
    }
    Ok(())
}

/// `headers`: valid names (unique ignoring case) and values. Values never appear in errors.
fn headers(node: &Node, has_oauth2: bool) -> Result<BTreeMap<String, String>> {
    let obj = node.object()?;
    let mut out = BTreeMap::new();
    let mut lower_names: Vec<String> = Vec::new();
    for (name, value) in obj.entries() {
        if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(value.error(format!("\"{name}\" is not a valid HTTP header name")));
        }
        let lower = name.to_ascii_lowercase();
        if lower_names.contains(&lower) {
            return Err(value.error(format!(
                "header \"{name}\" is given twice (names ignore case)"
            )));
        }
        if has_oauth2 && lower == "authorization" {
            return Err(value.error(
                "the Authorization header is set by authorization (oauth2); remove one of them",
            ));
        }
        let text = value.str()?;
        if hyper::header::HeaderValue::from_str(text).is_err() {
            return Err(value.error(
                "not a valid HTTP header value (visible ASCII characters, space and tab only)",
            ));
        }
        lower_names.push(lower);
        out.insert(name.to_string(), text.to_string());
    }
    Ok(out)
}

fn retry_codes(node: &Node) -> Result<Vec<u16>> {
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

fn oauth2(node: &Node, env: &dyn Fn(&str) -> Option<String>) -> Result<OAuth2> {
    let obj = node.object()?;
    obj.only(&[
        "type",
        "clientId",
        "clientSecret",
        "provider",
        "scope",
        "mode",
    ])?;
    obj.required("type")?.one_of(&["oauth2"])?;
    let client_id = obj.required("clientId")?.non_empty_str()?.to_string();
    let client_secret = secret(&obj.required("clientSecret")?, env)?;
    let provider = http_url(&obj.required("provider")?)?;
    let scope = obj.opt("scope", |n| n.non_empty_str().map(str::to_string))?;
    let mode = obj
        .opt("mode", |n| {
            Ok(match n.one_of(&["header", "body"])? {
                "body" => ClientAuthMode::Body,
                _ => ClientAuthMode::Header,
            })
        })?
        .unwrap_or_default();
    Ok(OAuth2 {
        provider,
        client_id,
        client_secret,
        scope,
        mode,
    })
}

/// A secret, as elsewhere in the config: a literal string, or `$NAME` / `${NAME}` for the
/// environment variable NAME. Errors name the variable, never the value.
fn secret(node: &Node, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret> {
    crate::config::auth::secret_from(node, env)
}

/// RFC 3986 unreserved characters: `A-Z a-z 0-9 - . _ ~`.
fn is_url_safe(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks a query parameter name (URL-safe, not used before) and records it with `owner`, the
/// key that uses it.
fn claim_query_name(
    node: &Node,
    name: &str,
    owner: &str,
    names: &mut Vec<(String, String)>,
) -> Result<()> {
    if !is_url_safe(name) {
        return Err(node.error(format!(
            "query parameter name \"{name}\" is not URL-safe (use A-Z a-z 0-9 - . _ ~)"
        )));
    }
    if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
        return Err(node.error(format!(
            "query parameter \"{name}\" is already set by {first}"
        )));
    }
    names.push((name.to_string(), owner.to_string()));
    Ok(())
}

fn computed_parameters(
    node: &Node,
    names: &mut Vec<(String, String)>,
) -> Result<Vec<ComputedParameter>> {
    let obj = node.object()?;
    let mut out = Vec::new();
    for (name, entry) in obj.entries() {
        claim_query_name(&entry, name, &entry.path, names)?;
        out.push(computed_parameter(name, &entry)?);
    }
    Ok(out)
}

fn computed_parameter(name: &str, node: &Node) -> Result<ComputedParameter> {
    let obj = node.object()?;
    let kind = obj.required("type")?.one_of(&["date-time", "timestamp"])?;
    let kind = if kind == "date-time" {
        obj.only(&["type", "reference", "pattern", "initialValue"])?;
        let pattern = match obj.get("pattern") {
            Some(n) => {
                let text = n.str()?;
                TimePattern::parse(text).map_err(|e| {
                    n.error(format!("invalid Java date-time pattern \"{text}\": {e}"))
                })?
            }
            None => TimePattern::parse(DEFAULT_PATTERN).expect("the default pattern parses"),
        };
        let initial_value = obj.opt("initialValue", |n| n.non_empty_str().map(str::to_string))?;
        ComputedKind::DateTime {
            pattern,
            initial_value,
        }
    } else {
        obj.only(&["type", "reference", "useMilliseconds", "initialValue"])?;
        ComputedKind::Timestamp {
            milliseconds: obj.opt("useMilliseconds", Node::bool)?.unwrap_or(false),
            initial_value: obj.opt("initialValue", Node::u64)?,
        }
    };
    obj.opt("reference", |n| n.one_of(&["last-success"]))?;
    Ok(ComputedParameter {
        name: name.to_string(),
        kind,
        reference: Reference::LastSuccess,
    })
}

fn pagination(node: &Node, names: &mut Vec<(String, String)>) -> Result<Pagination> {
    let obj = node.object()?;
    let mode = obj
        .required("mode")?
        .one_of(&["page", "offset", "keyset", "cursor"])?;
    let (index_key, size_key) = match mode {
        "page" => ("page", "pageSize"),
        "offset" => ("offset", "limit"),
        "keyset" => ("key", "pageSize"),
        _ => ("cursor", "pageSize"),
    };
    obj.only(&["mode", index_key, size_key, "nextReference", "maxPages"])?;

    let default_index = match mode {
        "keyset" => "since_key",
        other => other,
    };
    let with_initial = matches!(mode, "page" | "offset");
    let (parameter, initial) =
        pagination_index(&obj, index_key, default_index, with_initial, names)?;
    let size = page_size(&obj, size_key, names)?;
    let kind = match mode {
        "page" => PaginationKind::Page {
            parameter,
            initial,
            page_size: size,
        },
        "offset" => PaginationKind::Offset {
            parameter,
            limit_parameter: size.parameter_name,
            limit: size.value,
            initial,
        },
        "keyset" => PaginationKind::Keyset {
            parameter_name: parameter,
            page_size: size,
        },
        _ => PaginationKind::Cursor {
            parameter_name: parameter,
            page_size: size,
        },
    };
    let next_reference = next_reference(&obj.required("nextReference")?)?;
    let max_pages = obj
        .opt("maxPages", |n| Ok(n.u64_in(1, u64::from(u32::MAX))? as u32))?
        .unwrap_or(DEFAULT_MAX_PAGES);
    Ok(Pagination {
        kind,
        next_reference,
        max_pages,
    })
}

/// `page`/`offset` (`parameterName`, `initial`) or `key`/`cursor` (`parameterName` only).
fn pagination_index(
    obj: &Obj,
    key: &str,
    default_name: &str,
    with_initial: bool,
    names: &mut Vec<(String, String)>,
) -> Result<(String, u64)> {
    let owner = crate::config::node::key_path(
        &crate::config::node::key_path(&obj.path, key),
        "parameterName",
    );
    let Some(node) = obj.get(key) else {
        let at = Node::new(&Value::Null, &obj.path);
        claim_query_name(&at, default_name, &owner, names)?;
        return Ok((default_name.to_string(), 1));
    };
    let sub = node.object()?;
    if with_initial {
        sub.only(&["parameterName", "initial"])?;
    } else {
        sub.only(&["parameterName"])?;
    }
    let name = parameter_name(&sub, default_name, &owner, names)?;
    let initial = sub.opt("initial", Node::u64)?.unwrap_or(1);
    Ok((name, initial))
}

/// `pageSize` or `limit`: `parameterName` and `value` (at least 1).
fn page_size(obj: &Obj, key: &str, names: &mut Vec<(String, String)>) -> Result<PageSize> {
    let owner = crate::config::node::key_path(
        &crate::config::node::key_path(&obj.path, key),
        "parameterName",
    );
    let Some(node) = obj.get(key) else {
        let at = Node::new(&Value::Null, &obj.path);
        claim_query_name(&at, key, &owner, names)?;
        return Ok(PageSize {
            parameter_name: key.to_string(),
            value: DEFAULT_PAGE_SIZE,
        });
    };
    let sub = node.object()?;
    sub.only(&["parameterName", "value"])?;
    let parameter_name = parameter_name(&sub, key, &owner, names)?;
    let value = sub
        .opt("value", |n| n.u64_in(1, u64::MAX))?
        .unwrap_or(DEFAULT_PAGE_SIZE);
    Ok(PageSize {
        parameter_name,
        value,
    })
}

fn parameter_name(
    sub: &Obj,
    default_name: &str,
    owner: &str,
    names: &mut Vec<(String, String)>,
) -> Result<String> {
    match sub.get("parameterName") {
        Some(n) => {
            let name = n.str()?;
            claim_query_name(&n, name, owner, names)?;
            Ok(name.to_string())
        }
        None => {
            let at = Node::new(&Value::Null, &sub.path);
            claim_query_name(&at, default_name, owner, names)?;
            Ok(default_name.to_string())
        }
    }
}

fn next_reference(node: &Node) -> Result<NextReference> {
    let obj = node.object()?;
    let location = obj.required("location")?.one_of(&["body", "header"])?;
    if location == "header" {
        for key in ["type", "pointer"] {
            if obj.has(key) {
                return Err(obj.key_error(key, "only with location body"));
            }
        }
        obj.only(&["location"])?;
        return Ok(NextReference::LinkHeader);
    }
    obj.only(&["location", "type", "pointer"])?;
    let kind = match obj.required("type")?.one_of(&["uri", "value"])? {
        "uri" => NextReferenceKind::Uri,
        _ => NextReferenceKind::Value,
    };
    let pointer = json_pointer(&obj.required("pointer")?)?;
    Ok(NextReference::Body { pointer, kind })
}

#[cfg(test)]
mod tests;
