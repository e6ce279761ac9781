//! The HTTP bridge paths as configured: publisher, caller and webhook services, their options
//! (signing keys, `require_ip`, `require_tls`, `allowed_origins`) and origin matching.

use std::time::Duration;

use ipnet::IpNet;

use crate::config::secret::Secret;

/// `{"type": "publisher", "realm", "role", "options": {...}}`
#[derive(Debug, Clone)]
pub struct PublisherService {
    pub realm: String,
    /// The role of the internal session that publishes; its permissions apply.
    pub role: String,
    pub options: BridgeOptions,
}

/// `{"type": "caller", "realm", "role", "options": {..., "timeout"}}`
#[derive(Debug, Clone)]
pub struct CallerService {
    pub realm: String,
    pub role: String,
    pub options: BridgeOptions,
    /// `options.timeout` (ms in the file), default 30 s: a call not answered by then gets
    /// `wamp.error.timeout`.
    pub timeout: Duration,
}

/// The options publisher and caller paths share (Crossbar's names).
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// `key` + `secret` (both or neither): requests must be signed.
    pub signing: Option<SigningKey>,
    /// `post_body_limit` in bytes; absent: 1 MiB (Crossbar's ceiling); 0: no limit of its own
    /// (the server's hard cap of 64 MiB still applies).
    pub post_body_limit: usize,
    /// `timestamp_delta_limit` (seconds in the file, 0 to 86400 as in Crossbar), default 300 s;
    /// applies whenever a `timestamp` query argument is given. `None` (0 in the file): no
    /// window, as Crossbar reads 0; the timestamp must still be well formed.
    pub timestamp_delta_limit: Option<Duration>,
    /// `require_ip`: IPs and networks (CIDR or `a.b.c.d/255.255.255.0`); `None` = anyone.
    pub require_ip: Option<Vec<IpNet>>,
    /// `require_tls`: refuse requests that did not come over TLS.
    pub require_tls: bool,
    /// `debug`: log each request (never its signature or the secret).
    pub debug: bool,
    /// `success_status`: 202 (default for publisher, what crossbarconnect accepts) or 200
    /// (Crossbar's answer today; the caller's default).
    pub success_status: u16,
    /// Junction: `strict_status` (default false): WAMP errors answered with 403/400/404/504
    /// instead of Crossbar's 200.
    pub strict_status: bool,
    /// Junction: `allowed_origins`, which web pages may use this path from a visitor's browser.
    pub allowed_origins: AllowedOrigins,
}

/// `allowed_origins` of a bridge path: patterns where `*` matches any run of characters
/// (`["*"]`: any page, Crossbar's behaviour). A request without `Origin` (curl, scripts,
/// crossbarconnect) and a page of the same origin are always served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(pub Vec<String>);

impl AllowedOrigins {
    /// Whether a page at `origin` may use the path; `host` is the request's `Host`.
    pub fn allows(&self, origin: &str, host: Option<&str>) -> bool {
        let same_origin = host.is_some_and(|host| {
            origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
        });
        same_origin || self.0.iter().any(|p| wildcard_match(p, origin))
    }

    /// Whether every page may (`"*"` is listed).
    pub fn any(&self) -> bool {
        self.0.iter().any(|p| p == "*")
    }
}

/// `pattern` with `*` matching any run of characters (WebSocket's and the bridge's
/// `allowed_origins`).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[derive(Debug, Clone)]
pub struct SigningKey {
    pub key: String,
    pub secret: Secret,
}

/// `{"type": "webhook", "realm", "role", "options": {...}}`
#[derive(Debug, Clone)]
pub struct WebhookService {
    pub realm: String,
    pub role: String,
    /// `topic` (required): where each request is published.
    pub topic: String,
    /// `success_response` (default `"OK"`), the 202 body.
    pub success_response: String,
    /// `error_response` (default `"NOT OK"`), the 500 body.
    pub error_response: String,
    /// `github_secret`: check `X-Hub-Signature` / `X-Hub-Signature-256`.
    pub github_secret: Option<Secret>,
    /// `post_body_limit`, as for publishers (absent: 1 MiB, 0: hard cap only).
    pub post_body_limit: usize,
    /// Junction: `methods` (default `["POST"]`; `POST` and/or `PUT`).
    pub methods: Vec<String>,
    /// Junction: `decode: "json"` publishes the parsed body (kwargs when an object, else the
    /// single arg) instead of Crossbar's `{headers, body}`.
    pub decode_json: bool,
    /// Junction: `allowed_origins`, as for publishers.
    pub allowed_origins: AllowedOrigins,
}
