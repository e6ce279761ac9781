//! A `reverseproxy` path: every request at or below the path is forwarded to the backend web
//! server, the path below appended to the backend's `path`, the query kept. Method, headers
//! and body go through as they come and the answer comes back the same way: both bodies are
//! streamed (hyper's client, one pool of keep-alive connections per path), so nothing is held
//! in memory whatever their size. Headers change as [`forwarded`](crate::http::forwarded)
//! says, and `Host` becomes the backend's (as Crossbar's proxy does).
//!
//! A backend that cannot be reached gets the client a 502, one that does not accept a
//! connection within `connect_timeout` or answer within `response_timeout` a 504, each with a
//! JSON body naming the backend's `host:port`.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::header;
use hyper::{Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use percent_encoding::percent_decode_str;
use tracing::warn;

use crate::config::ReverseProxyService;
use crate::http::bridge::keep_alive;
use crate::http::forwarded::{Forwarding, remove_hop_by_hop};
use crate::http::response::{self, HttpResponse};
use crate::log_throttle::{Throttle, and_more};

/// How long a connection to the backend may wait in the pool for the next request.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Backend failures, logged at most once a second (a backend that is down fails every request).
static BACKEND_FAILED: Throttle = Throttle::new();

pub struct ReverseProxyPath {
    /// The path of the table this is served at, without its trailing `/` (`""` for `/`).
    prefix: String,
    service: ReverseProxyService,
    client: Client<HttpConnector, Incoming>,
}

impl ReverseProxyPath {
    pub fn new(prefix: &str, service: &ReverseProxyService) -> ReverseProxyPath {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(service.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        ReverseProxyPath {
            prefix: prefix.trim_end_matches('/').to_string(),
            service: service.clone(),
            client,
        }
    }

    /// Forwards `req` and answers with the backend's response, its body streamed.
    pub async fn handle(&self, req: Request<Incoming>, mut from: Forwarding<'_>) -> HttpResponse {
        let (mut parts, body) = req.into_parts();
        // A body the backend never reads leaves this connection unusable for another request.
        let has_body = !body.is_end_stream();
        let target = match self.target(&parts.uri) {
            Ok(target) => target,
            Err(message) => {
                let refused = response::error(StatusCode::BAD_REQUEST, &message, None);
                return keep_alive(refused, !has_body);
            }
        };
        from.proto = self.service.forwarded_proto.as_deref();
        from.port = self.service.forwarded_port;
        from.apply(&mut parts.headers);
        // The client sets the backend's `host:port` from the URI.
        parts.headers.remove(header::HOST);
        parts.uri = target;
        parts.version = Version::HTTP_11;
        let sent = self.client.request(Request::from_parts(parts, body));
        match tokio::time::timeout(self.service.response_timeout, sent).await {
            Ok(Ok(answer)) => {
                let (mut parts, body) = answer.into_parts();
                remove_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, body.map_err(io::Error::other).boxed_unsync())
            }
            Ok(Err(e)) => self.failed(&e, has_body),
            Err(_) => self.refuse(
                has_body,
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "backend {} did not answer within response_timeout ({} ms)",
                    self.service.authority(),
                    self.service.response_timeout.as_millis()
                ),
            ),
        }
    }

    /// `http://host:port` + the backend path + the request's path below the prefix + query.
    /// A `.` or `..` segment (written or percent-encoded) is refused: the backend would
    /// resolve it, and `/api/../admin` reach outside the backend `path`. Browsers resolve them
    /// before sending, so only a hand-made request has one.
    fn target(&self, uri: &Uri) -> Result<Uri, String> {
        let below = uri.path().get(self.prefix.len()..).unwrap_or_default();
        let dot_segment = below.split('/').any(|segment| {
            let decoded = percent_decode_str(segment).collect::<Vec<u8>>();
            decoded == b"." || decoded == b".."
        });
        if dot_segment {
            return Err("a path with a . or .. segment is not forwarded".to_string());
        }
        let mut path = format!("{}{below}", self.service.path);
        if path.is_empty() {
            path.push('/');
        }
        if let Some(query) = uri.query() {
            path.push('?');
            path.push_str(query);
        }
        Uri::builder()
            .scheme("http")
            .authority(self.service.authority())
            .path_and_query(path)
            .build()
            .map_err(|e| format!("cannot forward this path: {e}"))
    }

    /// 504 for a connect timeout, 502 for anything else that kept the backend from answering.
    fn failed(&self, e: &hyper_util::client::legacy::Error, has_body: bool) -> HttpResponse {
        let authority = self.service.authority();
        let cause = innermost(e);
        let timed_out = cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut);
        if e.is_connect() && timed_out {
            self.refuse(
                has_body,
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "backend {authority} did not accept a connection within connect_timeout ({} ms)",
                    self.service.connect_timeout.as_millis()
                ),
            )
        } else if e.is_connect() {
            self.refuse(
                has_body,
                StatusCode::BAD_GATEWAY,
                format!("backend {authority} is not reachable: {cause}"),
            )
        } else {
            self.refuse(
                has_body,
                StatusCode::BAD_GATEWAY,
                format!("backend {authority} failed to answer: {cause}"),
            )
        }
    }

    fn refuse(&self, has_body: bool, status: StatusCode, message: String) -> HttpResponse {
        if let Some(suppressed) = BACKEND_FAILED.admit() {
            warn!(
                path = %self.prefix,
                error = message,
                "reverseproxy failed{}",
                and_more(suppressed)
            );
        }
        keep_alive(response::error(status, &message, None), !has_body)
    }
}

/// The last error of `e`'s source chain: the one that says what happened.
fn innermost<'e>(e: &'e (dyn StdError + 'static)) -> &'e (dyn StdError + 'static) {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause
}
