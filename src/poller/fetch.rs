//! The HTTP side of one http-poller request (README.md, "http-poller topics", "Each poll"):
//! configured headers, the OAuth2 Bearer token, conditional-request validators, status handling
//! with retries, redirects refused, and the payload limit enforced while the body streams in.
//!
//! Time is injected through [`Sleeper`] (the waits between attempts and their jitter), so tests
//! never sleep for real backoff.
//!
//! Errors carry the Streams codes ([`codes`]): 70000 + status for HTTP errors, 70013 for
//! connection errors and timeouts, 70014 for an unknown host, 70015 for a payload over the
//! limit, 70300 for a redirect. Their messages never contain header values, tokens, secrets,
//! bodies or query strings.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use reqwest::header::{
    AUTHORIZATION, ETAG, HeaderMap, HeaderName, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, LINK, RETRY_AFTER,
};

pub use crate::poller::fetch_error::{FetchError, codes};
use crate::poller::fetch_error::{classify_send_error, error_chain};
use crate::poller::oauth2::TokenSource;
use crate::poller::retry::{RetryPolicy, random_jitter};

/// Default payload limit (1 MiB).
pub const DEFAULT_PAYLOAD_LIMIT: usize = 1024 * 1024;

/// Waits between attempts, and the jitter of those waits (injected by tests).
pub trait Sleeper: Send + Sync {
    /// Waits `d`.
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;

    /// A jitter in [-1, 1] for [`RetryPolicy::delay`]; uniformly random by default.
    fn jitter(&self) -> f64 {
        random_jitter()
    }

    /// The wall clock `Retry-After` dates are read against.
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Sleeps for real with `tokio::time::sleep`; random jitter.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Records the waits and returns at once; a fixed jitter and optionally a fixed clock.
#[derive(Debug, Default)]
pub struct RecordingSleeper {
    slept: parking_lot::Mutex<Vec<Duration>>,
    jitter: f64,
    now: Option<SystemTime>,
}

impl RecordingSleeper {
    /// Jitter 0, real clock.
    pub fn new() -> Self {
        RecordingSleeper::default()
    }

    /// Always this jitter.
    pub fn with_jitter(jitter: f64) -> Self {
        RecordingSleeper {
            jitter,
            ..RecordingSleeper::default()
        }
    }

    /// Reads `now` as the wall clock.
    pub fn at(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }

    /// The waits asked for so far.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().clone()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.slept.lock().push(d);
        Box::pin(std::future::ready(()))
    }

    fn jitter(&self) -> f64 {
        self.jitter
    }

    fn now(&self) -> SystemTime {
        self.now.unwrap_or_else(SystemTime::now)
    }
}

/// The `ETag` / `Last-Modified` of the last response, sent back as `If-None-Match` /
/// `If-Modified-Since`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// One request to the target.
#[derive(Debug, Clone)]
pub struct PollRequest {
    /// Full URL (query and pagination parameters already added).
    pub url: String,
    /// Configured `headers`, sent as given (an OAuth2 token replaces `Authorization`).
    pub headers: BTreeMap<String, String>,
    /// OAuth2 client credentials, when configured.
    pub auth: Option<Arc<TokenSource>>,
    /// The longest body accepted, in bytes.
    pub payload_limit: usize,
}

impl PollRequest {
    /// A plain GET of `url` with the default payload limit.
    pub fn new(url: impl Into<String>) -> Self {
        PollRequest {
            url: url.into(),
            headers: BTreeMap::new(),
            auth: None,
            payload_limit: DEFAULT_PAYLOAD_LIMIT,
        }
    }
}

/// A successful request: a 2xx with its body, or a 304 to a conditional request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    /// Empty on a 304.
    pub body: Bytes,
    /// The response's `ETag` (on a 304: only if it sent one; keep the old one otherwise).
    pub etag: Option<String>,
    /// The response's `Last-Modified` (same rule as `etag`).
    pub last_modified: Option<String>,
    /// A 304 answered the conditional request: the payload is unchanged.
    pub not_modified: bool,
    /// Requests sent to the target, including retries and the OAuth2 refresh.
    pub attempts: u32,
    /// The `Link` header(s), joined with ", ", for header pagination.
    pub link_header: Option<String>,
}

/// Sends poll requests. Redirects are never followed.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
}

/// Default whole-request timeout (connect, headers and body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What one attempt came to.
enum Outcome {
    Done(Fetched),
    /// Retry after the policy's backoff delay (or `Retry-After`, when given).
    Retry(FetchError, Option<Duration>),
    /// 401 with OAuth2 configured: refresh the token and retry once.
    Unauthorized(FetchError),
    Fail(FetchError),
}

impl Fetcher {
    /// A client with redirects disabled and `timeout` for each whole request. The process must
    /// have installed a rustls crypto provider (main does) before this is called.
    pub fn new(timeout: Duration) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .user_agent(concat!("junction/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                FetchError::new(
                    codes::HTTP_BASE,
                    format!("cannot create an HTTP client: {}", error_chain(&e)),
                )
            })?;
        Ok(Fetcher { client })
    }

    /// Uses `client` as is (it should not follow redirects).
    pub fn with_client(client: reqwest::Client) -> Self {
        Fetcher { client }
    }

    /// The client, to share with a [`TokenSource`].
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `req` until it succeeds, fails for good, or `policy`'s retries are used up.
    pub async fn fetch(
        &self,
        req: &PollRequest,
        policy: &RetryPolicy,
        sleeper: &dyn Sleeper,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let base = build_headers(req, validators)?;
        let mut attempts = 0u32;
        let mut retries = 0u32;
        let mut refreshed = false;
        loop {
            let mut headers = base.clone();
            if let Some(auth) = &req.auth {
                let token = auth.token().await.map_err(|mut e| {
                    e.attempts = attempts;
                    e
                })?;
                let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
                    let mut e = FetchError::new(
                        codes::NOT_JSON,
                        "OAuth2 token request: the token is not a valid header value",
                    );
                    e.attempts = attempts;
                    e
                })?;
                value.set_sensitive(true);
                headers.insert(AUTHORIZATION, value);
            }
            attempts += 1;
            let outcome = self
                .attempt(req, policy, sleeper, headers, validators, attempts)
                .await;
            match outcome {
                Outcome::Done(mut fetched) => {
                    fetched.attempts = attempts;
                    return Ok(fetched);
                }
                Outcome::Fail(e) => return Err(with_attempts(e, attempts)),
                Outcome::Unauthorized(e) => match &req.auth {
                    Some(auth) if !refreshed => {
                        refreshed = true;
                        auth.invalidate().await;
                    }
                    _ => return Err(with_attempts(e, attempts)),
                },
                Outcome::Retry(e, wait) => {
                    if retries >= policy.max_attempts {
                        let mut e = with_attempts(e, attempts);
                        if attempts > 1 {
                            e.message = format!("{} (after {attempts} attempts)", e.message);
                        }
                        return Err(e);
                    }
                    let wait = wait.unwrap_or_else(|| policy.delay(retries, sleeper.jitter()));
                    retries += 1;
                    sleeper.sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        req: &PollRequest,
        policy: &RetryPolicy,
        sleeper: &dyn Sleeper,
        headers: HeaderMap,
        validators: &Validators,
        attempt: u32,
    ) -> Outcome {
        let sent = self.client.get(&req.url).headers(headers).send().await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => {
                let (code, message) = classify_send_error(&e);
                let e = FetchError::new(code, message);
                return if e.code == codes::HTTP_BASE {
                    Outcome::Fail(e)
                } else {
                    Outcome::Retry(e, None)
                };
            }
        };
        let status = response.status();
        let code = status.as_u16();
        let http_error = |what: String| FetchError {
            code: codes::HTTP_BASE + u32::from(code),
            message: what,
            status: Some(code),
            attempts: attempt,
        };
        if status == StatusCode::NOT_MODIFIED && !validators.is_empty() {
            return Outcome::Done(Fetched {
                status: code,
                body: Bytes::new(),
                etag: header_text(response.headers(), &ETAG),
                last_modified: header_text(response.headers(), &LAST_MODIFIED),
                not_modified: true,
                attempts: attempt,
                link_header: joined_header(response.headers(), &LINK),
            });
        }
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            return Outcome::Fail(FetchError {
                code: codes::REDIRECT,
                message: format!("the target answered {status}; redirects are not followed"),
                status: Some(code),
                attempts: attempt,
            });
        }
        if status.is_success() {
            let body = match read_limited(&mut response, req.payload_limit).await {
                Ok(body) => body,
                Err(e) => {
                    let e = FetchError {
                        status: Some(code),
                        attempts: attempt,
                        ..e
                    };
                    return if e.code == codes::PAYLOAD_TOO_LARGE {
                        Outcome::Fail(e)
                    } else {
                        Outcome::Retry(e, None)
                    };
                }
            };
            let headers = response.headers();
            return Outcome::Done(Fetched {
                status: code,
                body,
                etag: header_text(headers, &ETAG),
                last_modified: header_text(headers, &LAST_MODIFIED),
                not_modified: false,
                attempts: attempt,
                link_header: joined_header(headers, &LINK),
            });
        }
        let e = http_error(format!("the target answered {status}"));
        if status == StatusCode::UNAUTHORIZED && req.auth.is_some() {
            return Outcome::Unauthorized(e);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            let wait = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| policy.retry_after(v, sleeper.now()));
            if let Some(wait) = wait {
                return Outcome::Retry(e, Some(wait));
            }
        }
        if policy.retries_status(code) {
            Outcome::Retry(e, None)
        } else {
            Outcome::Fail(e)
        }
    }
}

fn with_attempts(mut e: FetchError, attempts: u32) -> FetchError {
    e.attempts = attempts;
    e
}

/// The configured headers and the validators. Errors name the header, never its value.
fn build_headers(req: &PollRequest, validators: &Validators) -> Result<HeaderMap, FetchError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &req.headers {
        let header = HeaderName::try_from(name.as_str()).map_err(|_| {
            FetchError::new(codes::HTTP_BASE, format!("invalid header name {name:?}"))
        })?;
        let mut value = HeaderValue::try_from(value.as_str()).map_err(|_| {
            FetchError::new(
                codes::HTTP_BASE,
                format!("invalid value for header {name:?}"),
            )
        })?;
        value.set_sensitive(true);
        headers.append(header, value);
    }
    let validator = |which: &str, value: &str| {
        HeaderValue::try_from(value).map_err(|_| {
            FetchError::new(
                codes::HTTP_BASE,
                format!("invalid stored {which} validator"),
            )
        })
    };
    if let Some(etag) = &validators.etag {
        headers.insert(IF_NONE_MATCH, validator("ETag", etag)?);
    }
    if let Some(date) = &validators.last_modified {
        headers.insert(IF_MODIFIED_SINCE, validator("Last-Modified", date)?);
    }
    Ok(headers)
}

/// Reads the body, failing with 70015 as soon as it exceeds `limit` bytes.
async fn read_limited(response: &mut reqwest::Response, limit: usize) -> Result<Bytes, FetchError> {
    let too_large = || {
        FetchError::new(
            codes::PAYLOAD_TOO_LARGE,
            format!("the payload is larger than the limit of {limit} bytes"),
        )
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body.freeze()),
            Err(e) => {
                let (code, message) = classify_send_error(&e);
                let code = if code == codes::HTTP_BASE {
                    codes::CONNECTION
                } else {
                    code
                };
                return Err(FetchError::new(
                    code,
                    format!("reading the body: {message}"),
                ));
            }
        }
    }
}

fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn joined_header(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}
