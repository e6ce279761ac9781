//! OAuth2 client-credentials tokens for http-poller requests (README.md, "http-poller topics":
//! `authorization`; RFC 6749 4.4).
//!
//! A [`TokenSource`] POSTs `grant_type=client_credentials` (and `scope`) to the provider, sends
//! the client credentials in an `Authorization: Basic` header ([`ClientAuthMode::Header`],
//! RFC 6749 2.3.1: each part form-urlencoded before base64) or as `client_id` /
//! `client_secret` form fields ([`ClientAuthMode::Body`]), and keeps the Bearer token until
//! `expires_in` minus a margin. [`TokenSource::invalidate`] drops it, for the single refresh the
//! fetcher makes after a 401 from the target.
//!
//! Secrets and tokens never appear in errors or in `Debug` output.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;

use crate::config::topic::{ClientAuthMode, OAuth2};
use crate::poller::fetch_error::{FetchError, classify_send_error, codes};

/// The `authorization` block as the config loader built it ([`crate::config::topic::oauth2`]),
/// turned into token requests here.
impl OAuth2 {
    /// The `Authorization: Basic ...` value for [`ClientAuthMode::Header`].
    pub fn basic_authorization(&self) -> String {
        let id: String = form_urlencoded::byte_serialize(self.client_id.as_bytes()).collect();
        let secret: String =
            form_urlencoded::byte_serialize(self.client_secret.expose().as_bytes()).collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        format!("Basic {encoded}")
    }

    /// The form body of the token request.
    pub fn form_body(&self) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if let Some(scope) = &self.scope {
            form.append_pair("scope", scope);
        }
        if self.mode == ClientAuthMode::Body {
            form.append_pair("client_id", &self.client_id);
            form.append_pair("client_secret", self.client_secret.expose());
        }
        form.finish()
    }
}

/// The clock a [`TokenSource`] reads expiry against (injected by tests).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The longest token response read (a token response is a few hundred bytes).
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// Default margin: a token is renewed this long before `expires_in` runs out.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(30);

struct Cached {
    token: String,
    /// `None` when the provider gave no `expires_in`: kept until a 401 invalidates it.
    renew_at: Option<Instant>,
}

/// A cached client-credentials Bearer token for one topic.
pub struct TokenSource {
    config: OAuth2,
    client: reqwest::Client,
    clock: Clock,
    margin: Duration,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("config", &self.config)
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
}

impl TokenSource {
    /// A token source using `client` (share the fetcher's: redirects off, timeout set) and the
    /// real clock, renewing [`DEFAULT_MARGIN`] before expiry.
    pub fn new(config: OAuth2, client: reqwest::Client) -> Self {
        TokenSource::with_clock(config, client, Arc::new(Instant::now), DEFAULT_MARGIN)
    }

    /// As [`TokenSource::new`] with an injected clock and renewal margin. The margin used for a
    /// token is at most half its lifetime, so short-lived tokens are still reused.
    pub fn with_clock(
        config: OAuth2,
        client: reqwest::Client,
        clock: Clock,
        margin: Duration,
    ) -> Self {
        TokenSource {
            config,
            client,
            clock,
            margin,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    pub fn config(&self) -> &OAuth2 {
        &self.config
    }

    /// The current token: the cached one while it is fresh, else a new one from the provider.
    /// Concurrent callers wait for a single token request.
    pub async fn token(&self) -> Result<String, FetchError> {
        let mut cached = self.cached.lock().await;
        let now = (self.clock)();
        if let Some(c) = cached.as_ref()
            && c.renew_at.is_none_or(|at| now < at)
        {
            return Ok(c.token.clone());
        }
        *cached = None;
        let fresh = self.request_token(now).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets the cached token, so the next [`TokenSource::token`] asks the provider again.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn request_token(&self, now: Instant) -> Result<Cached, FetchError> {
        let fail = |code: u32, what: String| {
            FetchError::new(code, format!("OAuth2 token request: {what}"))
        };
        let mut request = self
            .client
            .post(self.config.provider.as_str())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(self.config.form_body());
        if self.config.mode == ClientAuthMode::Header {
            request = request.header("Authorization", self.config.basic_authorization());
        }
        let mut response = request.send().await.map_err(|e| {
            let (code, message) = classify_send_error(&e);
            fail(code, message)
        })?;
        let status = response.status();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_TOKEN_RESPONSE {
                        return Err(fail(
                            codes::PAYLOAD_TOO_LARGE,
                            format!("response over {MAX_TOKEN_RESPONSE} bytes"),
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    let (code, message) = classify_send_error(&e);
                    return Err(fail(code, message));
                }
            }
        }
        if status.is_redirection() {
            return Err(fail(
                codes::REDIRECT,
                format!("provider answered {status} (redirects are not followed)"),
            ));
        }
        if !status.is_success() {
            // RFC 6749 5.2: `error` is a fixed ASCII code, safe to show; the rest is not shown.
            let detail = serde_json::from_slice::<ErrorResponse>(&body)
                .ok()
                .map(|e| e.error)
                .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_graphic()))
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            return Err(fail(
                codes::HTTP_BASE + u32::from(status.as_u16()),
                format!("provider answered {status}{detail}"),
            ));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
            fail(
                codes::NOT_JSON,
                "the provider's answer is not a JSON token response".to_owned(),
            )
        })?;
        if let Some(kind) = &parsed.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(fail(
                codes::NOT_JSON,
                "the provider's token is not a Bearer token".to_owned(),
            ));
        }
        if parsed.access_token.is_empty() {
            return Err(fail(
                codes::NOT_JSON,
                "the provider's answer has an empty access_token".to_owned(),
            ));
        }
        let lifetime = parsed.expires_in.as_ref().and_then(expires_in_secs);
        let renew_at = lifetime.map(|secs| {
            let lifetime = Duration::from_secs(secs);
            let margin = self.margin.min(lifetime / 2);
            now + (lifetime - margin)
        });
        Ok(Cached {
            token: parsed.access_token,
            renew_at,
        })
    }
}

/// `expires_in` as seconds: a JSON number, or a numeric string (some providers send one).
fn expires_in_secs(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(mode: ClientAuthMode) -> OAuth2 {
        OAuth2 {
            provider: url::Url::parse("http://127.0.0.1:1/token").unwrap(),
            client_id: "my client:1".into(),
            client_secret: crate::config::secret::Secret::new("s3cr&t/+="),
            scope: Some("READ,WRITE".into()),
            mode,
        }
    }

    #[test]
    fn basic_header_urlencodes_each_part_first() {
        let c = config(ClientAuthMode::Header);
        // "my+client%3A1:s3cr%26t%2F%2B%3D"
        let expected =
            base64::engine::general_purpose::STANDARD.encode("my+client%3A1:s3cr%26t%2F%2B%3D");
        assert_eq!(c.basic_authorization(), format!("Basic {expected}"));
    }

    #[test]
    fn form_bodies_per_mode() {
        assert_eq!(
            config(ClientAuthMode::Header).form_body(),
            "grant_type=client_credentials&scope=READ%2CWRITE"
        );
        assert_eq!(
            config(ClientAuthMode::Body).form_body(),
            "grant_type=client_credentials&scope=READ%2CWRITE\
             &client_id=my+client%3A1&client_secret=s3cr%26t%2F%2B%3D"
        );
        let no_scope = OAuth2 {
            scope: None,
            ..config(ClientAuthMode::Header)
        };
        assert_eq!(no_scope.form_body(), "grant_type=client_credentials");
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = config(ClientAuthMode::Body);
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(shown.contains("my client:1"));
    }

    #[test]
    fn expires_in_forms() {
        use serde_json::json;
        assert_eq!(expires_in_secs(&json!(3600)), Some(3600));
        assert_eq!(expires_in_secs(&json!(3600.7)), Some(3600));
        assert_eq!(expires_in_secs(&json!("120")), Some(120));
        assert_eq!(expires_in_secs(&json!(-1)), None);
        assert_eq!(expires_in_secs(&json!(null)), None);
    }
}
