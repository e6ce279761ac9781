//! One http-poller request against a real local HTTP server: retries, Retry-After, redirects,
//! the payload limit, conditional requests, connection errors and OAuth2 client credentials.
//! Backoff waits go through a recording sleeper, so nothing sleeps for real.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use junction::config::secret::Secret;
use junction::config::topic::{ClientAuthMode, OAuth2};
use junction::poller::fetch::{Fetched, Fetcher, PollRequest, RecordingSleeper, Validators, codes};
use junction::poller::oauth2::TokenSource;
use junction::poller::retry::RetryPolicy;
use parking_lot::Mutex;
use tokio::net::TcpListener;

/// A scripted answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Send the body chunked (no Content-Length), in pieces of this size.
    chunked: Option<usize>,
}

impl Reply {
    fn new(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            chunked: None,
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn chunked(mut self, size: usize) -> Self {
        self.chunked = Some(size);
        self
    }

    fn token(token: &str, expires_in: u64) -> Self {
        Reply::new(
            200,
            &format!(
                r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in}}}"#
            ),
        )
        .header("Content-Type", "application/json")
    }
}

/// A request the server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: hyper::HeaderMap,
    body: Bytes,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Answers requests with the script in order (the last reply repeats) and records them.
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    async fn start(script: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let record = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let script = script.clone();
                let record = record.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let script = script.clone();
                        let record = record.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.unwrap().to_bytes();
                            let n = {
                                let mut seen = record.lock();
                                seen.push(Seen {
                                    method: parts.method.to_string(),
                                    uri: parts.uri.to_string(),
                                    headers: parts.headers,
                                    body,
                                });
                                seen.len() - 1
                            };
                            let reply = script[n.min(script.len() - 1)].clone();
                            Ok::<_, Infallible>(respond(reply))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().clone()
    }
}

fn respond(reply: Reply) -> Response<BoxBody<Bytes, Infallible>> {
    let body: BoxBody<Bytes, Infallible> = match reply.chunked {
        None => Full::new(Bytes::from(reply.body)).boxed(),
        Some(size) => {
            let frames: Vec<Result<Frame<Bytes>, Infallible>> = reply
                .body
                .chunks(size)
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect();
            StreamBody::new(futures_util::stream::iter(frames)).boxed()
        }
    };
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    response.body(body).unwrap()
}

fn fetcher() -> Fetcher {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Fetcher::new(Duration::from_secs(5)).unwrap()
}

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        ..RetryPolicy::default()
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

async fn get(server: &Server, policy: &RetryPolicy, sleeper: &RecordingSleeper) -> Fetched {
    let req = PollRequest::new(server.url("/data"));
    fetcher()
        .fetch(&req, policy, sleeper, &Validators::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn success_returns_body_validators_and_link() {
    let server = Server::start(vec![
        Reply::new(200, r#"{"a":1}"#)
            .header("ETag", "\"v1\"")
            .header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
            .header("Link", "<http://x/?page=2>; rel=\"next\""),
    ])
    .await;
    let mut req = PollRequest::new(server.url("/data?q=1"));
    req.headers
        .insert("X-Custom".into(), "value1,value2".into());
    req.headers
        .insert("Accept".into(), "application/json".into());
    let sleeper = RecordingSleeper::new();
    let got = fetcher()
        .fetch(&req, &policy(3), &sleeper, &Validators::default())
        .await
        .unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(got.body, Bytes::from_static(br#"{"a":1}"#));
    assert_eq!(got.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        got.last_modified.as_deref(),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
    assert_eq!(
        got.link_header.as_deref(),
        Some("<http://x/?page=2>; rel=\"next\"")
    );
    assert!(!got.not_modified);
    assert_eq!(got.attempts, 1);
    assert!(sleeper.slept().is_empty());
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].uri, "/data?q=1");
    assert_eq!(seen[0].header("x-custom"), Some("value1,value2"));
    assert_eq!(seen[0].header("accept"), Some("application/json"));
    assert_eq!(seen[0].header("if-none-match"), None);
    assert_eq!(seen[0].header("authorization"), None);
}

#[tokio::test]
async fn retries_503_with_the_policy_delay() {
    let server = Server::start(vec![
        Reply::new(503, "busy"),
        Reply::new(500, "oops"),
        Reply::new(200, "[1]"),
    ])
    .await;
    let sleeper = RecordingSleeper::new();
    let got = get(&server, &policy(3), &sleeper).await;
    assert_eq!(got.body, Bytes::from_static(b"[1]"));
    assert_eq!(got.attempts, 3);
    assert_eq!(sleeper.slept(), [secs(1), secs(2)]);
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn retry_delay_uses_the_sleepers_jitter() {
    let server = Server::start(vec![Reply::new(504, ""), Reply::new(200, "ok")]).await;
    let sleeper = RecordingSleeper::with_jitter(1.0);
    let got = get(&server, &policy(3), &sleeper).await;
    assert_eq!(got.attempts, 2);
    assert_eq!(sleeper.slept(), [Duration::from_millis(1500)]);
}

#[tokio::test]
async fn retry_after_is_honoured_and_capped() {
    let server = Server::start(vec![
        Reply::new(503, "").header("Retry-After", "7"),
        Reply::new(429, "").header("Retry-After", "3600"),
        Reply::new(503, "").header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
        Reply::new(200, "ok"),
    ])
    .await;
    // 4 s before the date in the last Retry-After.
    let now = SystemTime::UNIX_EPOCH + secs(1_445_412_480 - 4);
    let sleeper = RecordingSleeper::new().at(now);
    let got = get(&server, &policy(3), &sleeper).await;
    assert_eq!(got.attempts, 4);
    // 7 s as asked; 3600 s capped by max (10 s); the date is 4 s away.
    assert_eq!(sleeper.slept(), [secs(7), secs(10), secs(4)]);
}

#[tokio::test]
async fn status_429_without_retry_after_is_not_retried_by_default() {
    let server = Server::start(vec![Reply::new(429, ""), Reply::new(200, "ok")]).await;
    let sleeper = RecordingSleeper::new();
    let err = fetcher()
        .fetch(
            &PollRequest::new(server.url("/")),
            &policy(3),
            &sleeper,
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 70_429);
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn not_found_is_an_error_without_retry() {
    let server = Server::start(vec![Reply::new(404, "no"), Reply::new(200, "ok")]).await;
    let sleeper = RecordingSleeper::new();
    let err = fetcher()
        .fetch(
            &PollRequest::new(server.url("/missing")),
            &policy(3),
            &sleeper,
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 70_404);
    assert_eq!(err.status, Some(404));
    assert_eq!(err.attempts, 1);
    assert!(sleeper.slept().is_empty());
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn attempts_exhausted_gives_the_last_status() {
    let server = Server::start(vec![Reply::new(503, "busy")]).await;
    let sleeper = RecordingSleeper::new();
    let err = fetcher()
        .fetch(
            &PollRequest::new(server.url("/")),
            &policy(3),
            &sleeper,
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 70_503);
    assert_eq!(err.attempts, 4);
    assert_eq!(sleeper.slept(), [secs(1), secs(2), secs(4)]);
    assert_eq!(server.seen().len(), 4);
    assert!(err.to_string().contains("after 4 attempts"), "{err}");
}

#[tokio::test]
async fn custom_retry_codes_replace_the_defaults() {
    let server = Server::start(vec![Reply::new(502, ""), Reply::new(503, "")]).await;
    let sleeper = RecordingSleeper::new();
    let p = RetryPolicy {
        retry_on: vec![502],
        ..policy(3)
    };
    let err = fetcher()
        .fetch(
            &PollRequest::new(server.url("/")),
            &p,
            &sleeper,
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 70_503);
    assert_eq!(err.attempts, 2);
    assert_eq!(sleeper.slept(), [secs(1)]);
}

#[tokio::test]
async fn redirect_is_not_followed() {
    let target = Server::start(vec![Reply::new(200, "elsewhere")]).await;
    let server = Server::start(vec![
        Reply::new(302, "").header("Location", target.url("/moved")),
    ])
    .await;
    let sleeper = RecordingSleeper::new();
    let err = fetcher()
        .fetch(
            &PollRequest::new(server.url("/")),
            &policy(3),
            &sleeper,
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, codes::REDIRECT);
    assert_eq!(err.status, Some(302));
    assert_eq!(server.seen().len(), 1);
    assert!(target.seen().is_empty());
}

#[tokio::test]
async fn payload_over_the_limit_is_refused() {
    let big = "x".repeat(1000);
    // With Content-Length, and chunked (checked while streaming).
    for reply in [Reply::new(200, &big), Reply::new(200, &big).chunked(100)] {
        let server = Server::start(vec![reply]).await;
        let mut req = PollRequest::new(server.url("/"));
        req.payload_limit = 999;
        let sleeper = RecordingSleeper::new();
        let err = fetcher()
            .fetch(&req, &policy(3), &sleeper, &Validators::default())
            .await
            .unwrap_err();
        assert_eq!(err.code, codes::PAYLOAD_TOO_LARGE);
        assert_eq!(err.code, 70_015);
        assert_eq!(server.seen().len(), 1, "not retried");
        // Exactly at the limit is fine.
        req.payload_limit = 1000;
        let got = fetcher()
            .fetch(&req, &policy(3), &sleeper, &Validators::default())
            .await
            .unwrap();
        assert_eq!(got.body.len(), 1000);
    }
}

#[tokio::test]
async fn not_modified_answers_a_conditional_request() {
    let server = Server::start(vec![Reply::new(304, "").header("ETag", "\"v1\"")]).await;
    let validators = Validators {
        etag: Some("\"v1\"".into()),
        last_modified: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
    };
    let sleeper = RecordingSleeper::new();
    let got = fetcher()
        .fetch(
            &PollRequest::new(server.url("/")),
            &policy(3),
            &sleeper,
            &validators,
        )
        .await
        .unwrap();
    assert!(got.not_modified);
    assert_eq!(got.status, 304);
    assert!(got.body.is_empty());
    assert_eq!(got.etag.as_deref(), Some("\"v1\""));
    assert_eq!(got.last_modified, None);
    let seen = server.seen();
    assert_eq!(seen[0].header("if-none-match"), Some("\"v1\""));
    assert_eq!(
        seen[0].header("if-modified-since"),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
}

#[tokio::test]
async fn not_modified_without_validators_is_an_error() {
    let server = Server::start(vec![Reply::new(304, "")]).await;
    let err = fetcher()
        .fetch(
            &PollRequest::new(server.url("/")),
            &policy(3),
            &RecordingSleeper::new(),
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 70_304);
}

#[tokio::test]
async fn connection_refused_is_retried_then_70013_without_the_query() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let req = PollRequest::new(format!("http://127.0.0.1:{port}/x?apikey=SECRETKEY"));
    let sleeper = RecordingSleeper::new();
    let err = fetcher()
        .fetch(&req, &policy(2), &sleeper, &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(err.code, codes::CONNECTION);
    assert_eq!(err.code, 70_013);
    assert_eq!(err.status, None);
    assert_eq!(err.attempts, 3);
    assert_eq!(sleeper.slept(), [secs(1), secs(2)]);
    let shown = err.to_string();
    assert!(!shown.contains("SECRETKEY"), "{shown}");
    assert!(shown.contains("connection"), "{shown}");
}

#[tokio::test]
async fn timeout_is_70013() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fetcher = Fetcher::new(Duration::from_millis(200)).unwrap();
    let err = fetcher
        .fetch(
            &PollRequest::new(format!("http://{addr}/")),
            &policy(0),
            &RecordingSleeper::new(),
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 70_013);
    assert!(err.to_string().contains("timeout"), "{err}");
    held.abort();
}

#[tokio::test]
async fn unknown_host_is_70014() {
    // `.invalid` never resolves (RFC 6761); resolution fails at once without a network.
    let req = PollRequest::new("http://nonexistent.invalid/data");
    let sleeper = RecordingSleeper::new();
    let err = fetcher()
        .fetch(&req, &policy(0), &sleeper, &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(err.code, codes::UNKNOWN_HOST, "{err}");
    assert_eq!(err.code, 70_014);
    assert_eq!(err.attempts, 1);
}

#[tokio::test]
async fn invalid_header_names_the_header_not_the_value() {
    let mut req = PollRequest::new("http://127.0.0.1:1/");
    req.headers.insert("X-Key".into(), "SECRET\nVALUE".into());
    let err = fetcher()
        .fetch(
            &req,
            &policy(0),
            &RecordingSleeper::new(),
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, codes::HTTP_BASE);
    assert_eq!(err.attempts, 0);
    assert!(err.to_string().contains("X-Key"));
    assert!(!err.to_string().contains("SECRET"));
}

const SECRET: &str = "s3cr&t/+=";

fn oauth(provider: &Server, mode: ClientAuthMode) -> OAuth2 {
    OAuth2 {
        provider: url::Url::parse(&provider.url("/oauth/token")).unwrap(),
        client_id: "my client".into(),
        client_secret: Secret::new(SECRET),
        scope: Some("READ,WRITE".into()),
        mode,
    }
}

/// A clock tests move by hand.
fn manual_clock() -> (Arc<Mutex<Instant>>, junction::poller::oauth2::Clock) {
    let now = Arc::new(Mutex::new(Instant::now()));
    let read = now.clone();
    (now, Arc::new(move || *read.lock()))
}

#[tokio::test]
async fn oauth2_header_mode_sends_basic_credentials_and_reuses_the_token() {
    let provider = Server::start(vec![
        Reply::token("tok-1", 3600),
        Reply::token("tok-2", 3600),
    ])
    .await;
    let target = Server::start(vec![Reply::new(200, "ok")]).await;
    let fetcher = fetcher();
    let (now, clock) = manual_clock();
    let tokens = Arc::new(TokenSource::with_clock(
        oauth(&provider, ClientAuthMode::Header),
        fetcher.client().clone(),
        clock,
        secs(30),
    ));
    let mut req = PollRequest::new(target.url("/api"));
    req.auth = Some(tokens);
    let sleeper = RecordingSleeper::new();
    for _ in 0..3 {
        let got = fetcher
            .fetch(&req, &policy(3), &sleeper, &Validators::default())
            .await
            .unwrap();
        assert_eq!(got.attempts, 1);
    }
    let asked = provider.seen();
    assert_eq!(asked.len(), 1, "token reused");
    assert_eq!(asked[0].method, "POST");
    assert_eq!(asked[0].uri, "/oauth/token");
    let basic = base64::engine::general_purpose::STANDARD.encode("my+client:s3cr%26t%2F%2B%3D");
    assert_eq!(
        asked[0].header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(
        asked[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        asked[0].body,
        Bytes::from_static(b"grant_type=client_credentials&scope=READ%2CWRITE")
    );
    for seen in target.seen() {
        assert_eq!(seen.header("authorization"), Some("Bearer tok-1"));
    }

    // Renewed 30 s before expiry.
    *now.lock() += secs(3600 - 31);
    fetcher
        .fetch(&req, &policy(3), &sleeper, &Validators::default())
        .await
        .unwrap();
    assert_eq!(provider.seen().len(), 1);
    *now.lock() += secs(1);
    fetcher
        .fetch(&req, &policy(3), &sleeper, &Validators::default())
        .await
        .unwrap();
    assert_eq!(provider.seen().len(), 2);
    assert_eq!(
        target.seen().last().unwrap().header("authorization"),
        Some("Bearer tok-2")
    );
}

#[tokio::test]
async fn oauth2_body_mode_sends_credentials_as_form_fields() {
    let provider = Server::start(vec![Reply::token("tok-1", 3600)]).await;
    let target = Server::start(vec![Reply::new(200, "ok")]).await;
    let fetcher = fetcher();
    let config = OAuth2 {
        scope: None,
        ..oauth(&provider, ClientAuthMode::Body)
    };
    let mut req = PollRequest::new(target.url("/api"));
    // An OAuth2 token replaces a configured Authorization header.
    req.headers
        .insert("Authorization".into(), "Basic configured".into());
    req.auth = Some(Arc::new(TokenSource::new(config, fetcher.client().clone())));
    fetcher
        .fetch(
            &req,
            &policy(3),
            &RecordingSleeper::new(),
            &Validators::default(),
        )
        .await
        .unwrap();
    let asked = provider.seen();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].header("authorization"), None);
    assert_eq!(
        asked[0].body,
        Bytes::from_static(
            b"grant_type=client_credentials&client_id=my+client&client_secret=s3cr%26t%2F%2B%3D"
        )
    );
    assert_eq!(
        target.seen()[0].header("authorization"),
        Some("Bearer tok-1")
    );
}

#[tokio::test]
async fn oauth2_refreshes_once_on_401() {
    let provider = Server::start(vec![Reply::token("old", 3600), Reply::token("new", 3600)]).await;
    let target = Server::start(vec![Reply::new(401, ""), Reply::new(200, "ok")]).await;
    let fetcher = fetcher();
    let mut req = PollRequest::new(target.url("/api"));
    req.auth = Some(Arc::new(TokenSource::new(
        oauth(&provider, ClientAuthMode::Header),
        fetcher.client().clone(),
    )));
    let sleeper = RecordingSleeper::new();
    let got = fetcher
        .fetch(&req, &policy(3), &sleeper, &Validators::default())
        .await
        .unwrap();
    assert_eq!(got.attempts, 2);
    assert!(sleeper.slept().is_empty(), "no backoff for the refresh");
    assert_eq!(provider.seen().len(), 2);
    let seen = target.seen();
    assert_eq!(seen[0].header("authorization"), Some("Bearer old"));
    assert_eq!(seen[1].header("authorization"), Some("Bearer new"));
}

#[tokio::test]
async fn oauth2_second_401_is_an_error_without_secrets() {
    let provider = Server::start(vec![
        Reply::token("tok-AAA", 3600),
        Reply::token("tok-BBB", 3600),
    ])
    .await;
    let target = Server::start(vec![Reply::new(401, "")]).await;
    let fetcher = fetcher();
    let mut req = PollRequest::new(target.url("/api"));
    req.auth = Some(Arc::new(TokenSource::new(
        oauth(&provider, ClientAuthMode::Body),
        fetcher.client().clone(),
    )));
    let err = fetcher
        .fetch(
            &req,
            &policy(3),
            &RecordingSleeper::new(),
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 70_401);
    assert_eq!(err.attempts, 2);
    assert_eq!(provider.seen().len(), 2, "one refresh only");
    assert_eq!(target.seen().len(), 2);
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(!shown.contains("tok-"), "{shown}");
    }
    // Without OAuth2 a 401 is a plain error.
    let err = fetcher
        .fetch(
            &PollRequest::new(target.url("/api")),
            &policy(3),
            &RecordingSleeper::new(),
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 70_401);
    assert_eq!(err.attempts, 1);
}

#[tokio::test]
async fn oauth2_provider_errors_never_show_secrets() {
    let provider = Server::start(vec![
        Reply::new(
            400,
            r#"{"error":"invalid_client","error_description":"bad secret s3cr&t/+="}"#,
        )
        .header("Content-Type", "application/json"),
        Reply::new(200, "not json s3cr&t"),
        Reply::new(200, r#"{"access_token":"tok-XYZ","token_type":"mac"}"#),
        Reply::new(302, "").header("Location", "http://127.0.0.1:1/"),
    ])
    .await;
    let target = Server::start(vec![Reply::new(200, "ok")]).await;
    let fetcher = fetcher();
    let mut req = PollRequest::new(target.url("/api"));
    req.auth = Some(Arc::new(TokenSource::new(
        oauth(&provider, ClientAuthMode::Body),
        fetcher.client().clone(),
    )));
    let mut got = Vec::new();
    for _ in 0..4 {
        let err = fetcher
            .fetch(
                &req,
                &policy(3),
                &RecordingSleeper::new(),
                &Validators::default(),
            )
            .await
            .unwrap_err();
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("s3cr"), "{shown}");
            assert!(!shown.contains("tok-"), "{shown}");
        }
        assert!(err.to_string().starts_with("OAuth2 token request"), "{err}");
        assert_eq!(err.attempts, 0);
        got.push(err.code);
    }
    assert_eq!(
        got,
        [70_400, codes::NOT_JSON, codes::NOT_JSON, codes::REDIRECT]
    );
    assert!(target.seen().is_empty());
}

#[tokio::test]
async fn oauth2_unreachable_provider_is_a_connection_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let fetcher = fetcher();
    let config = OAuth2 {
        provider: url::Url::parse(&format!("http://127.0.0.1:{port}/token")).unwrap(),
        client_id: "id".into(),
        client_secret: Secret::new(SECRET),
        scope: None,
        mode: ClientAuthMode::Header,
    };
    let mut req = PollRequest::new("http://127.0.0.1:1/api");
    req.auth = Some(Arc::new(TokenSource::new(config, fetcher.client().clone())));
    let err = fetcher
        .fetch(
            &req,
            &policy(3),
            &RecordingSleeper::new(),
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 70_013);
    assert!(!err.to_string().contains("s3cr"));
}

#[tokio::test]
async fn fetch_runs_in_a_spawned_task() {
    let server = Server::start(vec![Reply::new(500, ""), Reply::new(200, "ok")]).await;
    let fetcher = fetcher();
    let req = PollRequest::new(server.url("/"));
    let got = tokio::spawn(async move {
        let sleeper = junction::poller::fetch::TokioSleeper;
        let p = RetryPolicy {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(5),
            ..RetryPolicy::default()
        };
        fetcher
            .fetch(&req, &p, &sleeper, &Validators::default())
            .await
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(got.attempts, 2);
}
