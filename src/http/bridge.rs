//! The checks every publisher and caller request passes, in the order of Crossbar's contract
//! (README.md, "HTTP bridge"): method, content type and charset, Content-Length,
//! body size, signature and timestamp, replay, `require_ip`, `require_tls`. What passes is the
//! raw body; what fails is the finished error response.

use std::time::Instant;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use tracing::info;

use crate::config::BridgeOptions;
use crate::http::cors;
use crate::http::requester::Requester;
use crate::http::response::{self, HttpResponse};
use crate::http::signature::{self, ReplayGuard, SigningArgs};
use crate::log_text::peer_text;
use crate::log_throttle::{Throttle, and_more};
use crate::router::error::WampError;
use crate::wamp::error as uri_error;
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, Value};

/// No body is read past this, whatever `post_body_limit` says (0 there means "only this").
pub const HARD_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Signed (key, nonce) pairs remembered per path for replay protection.
const REPLAY_CAPACITY: usize = 100_000;

const ALLOW: &str = "POST,PUT,OPTIONS";

/// Signed requests refused on paths without `debug` (those log every refusal): a failed
/// login of the HTTP bridge, logged at most once a second.
static SIGNATURE_REFUSED: Throttle = Throttle::new();

/// One publisher or caller path's checking state.
pub struct Bridge {
    pub options: BridgeOptions,
    replay: ReplayGuard,
    /// Path, for debug logs.
    path: String,
}

/// A request that passed every check.
pub struct Accepted {
    pub body: Bytes,
    pub origin: Option<HeaderValue>,
}

/// A checked request whose body is `{"<uri field>": "...", "args", "kwargs", "options"}`.
pub struct BridgeRequest {
    pub origin: Option<HeaderValue>,
    /// The `topic` of a publish, the `procedure` of a call.
    pub uri: String,
    pub payload: Payload,
    pub options: Dict,
}

impl Bridge {
    pub fn new(path: &str, options: BridgeOptions) -> Bridge {
        Bridge {
            options,
            replay: ReplayGuard::new(REPLAY_CAPACITY),
            path: path.to_owned(),
        }
    }

    pub async fn accept(
        &self,
        req: Request<Incoming>,
        requester: Requester,
    ) -> Result<Accepted, HttpResponse> {
        let (head, body) = req.into_parts();
        let origin = match cors::check(&self.options.allowed_origins, &head.headers) {
            Ok(origin) => origin,
            Err(refused) => return Err(refuse(body, refused).await),
        };
        let fail = |status: StatusCode, message: &str| {
            self.refusal(requester, origin.as_ref(), status, message)
        };
        let limit = body_limit(self.options.post_body_limit);
        // Refusals before the body is read still drain it, to keep the connection usable.
        let declared = match self.check_head(&head, limit, &fail) {
            Ok(declared) => declared,
            Err(response) => return Err(refuse(body, response).await),
        };
        let body = match read_body(body, limit).await {
            BodyRead::Complete(body) => body,
            BodyRead::TooLarge { drained } => {
                return Err(keep_alive(
                    fail(StatusCode::PAYLOAD_TOO_LARGE, &too_large(limit)),
                    drained,
                ));
            }
            BodyRead::Failed(status, message) => {
                return Err(keep_alive(fail(status, &message), false));
            }
        };
        let query = head.uri.query().unwrap_or("");
        if declared.is_some_and(|n| n != body.len()) {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "body length differs from Content-Length",
            ));
        }
        if let Err(rejection) = self.check_signature(query, &body) {
            let status = StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::BAD_REQUEST);
            if !self.options.debug
                && let Some(suppressed) = SIGNATURE_REFUSED.admit()
            {
                info!(
                    path = self.path,
                    peer = %requester.peer(),
                    status = status.as_u16(),
                    error = %peer_text(&rejection.message),
                    "signed request refused{}",
                    and_more(suppressed)
                );
            }
            return Err(fail(status, &rejection.message));
        }
        if let Some(allowed) = &self.options.require_ip
            && !requester.ip_allowed(allowed)
        {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                &format!("request from {} is not allowed here", requester.ip),
            ));
        }
        if self.options.require_tls && !requester.tls {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "this path accepts requests over TLS (https) only",
            ));
        }
        Ok(Accepted { body, origin })
    }

    /// Method, content type, Content-Length and its limit; returns the declared length.
    // The error is the finished response, built once per refused request: no need to box it.
    #[allow(clippy::result_large_err)]
    fn check_head(
        &self,
        head: &hyper::http::request::Parts,
        limit: usize,
        fail: &dyn Fn(StatusCode, &str) -> HttpResponse,
    ) -> Result<Option<usize>, HttpResponse> {
        match head.method {
            Method::POST | Method::PUT => {}
            Method::OPTIONS => {
                return Err(response::options(ALLOW, head.headers.get(header::ORIGIN)));
            }
            _ => {
                return Err(response::method_not_allowed(
                    ALLOW,
                    head.headers.get(header::ORIGIN),
                ));
            }
        }
        check_content_type(&head.headers).map_err(|m| fail(StatusCode::BAD_REQUEST, &m))?;
        let declared =
            declared_length(&head.headers).map_err(|m| fail(StatusCode::BAD_REQUEST, &m))?;
        if declared.is_some_and(|n| n > limit) {
            return Err(fail(StatusCode::PAYLOAD_TOO_LARGE, &too_large(limit)));
        }
        Ok(declared)
    }

    /// An error response, logged when the path has `debug`.
    fn refusal(
        &self,
        requester: Requester,
        origin: Option<&HeaderValue>,
        status: StatusCode,
        message: &str,
    ) -> HttpResponse {
        if self.options.debug {
            info!(
                path = self.path,
                peer = %requester.peer(),
                status = status.as_u16(),
                error = %peer_text(message),
                "request refused"
            );
        }
        response::error(status, message, origin)
    }

    /// Logs a request's answer when the path has `debug` (`uri`: the body's `topic` or
    /// `procedure` as (that name, its value), once the body was read).
    pub fn answered(
        &self,
        requester: Requester,
        started: Instant,
        response: &HttpResponse,
        uri: Option<(&str, &str)>,
    ) {
        if !self.options.debug {
            return;
        }
        let (path, peer) = (&self.path, requester.peer());
        let status = response.status().as_u16();
        let duration_ms = started.elapsed().as_millis() as u64;
        match uri {
            Some(("procedure", uri)) => info!(
                path,
                %peer,
                status,
                duration_ms,
                procedure = %peer_text(uri),
                "request answered"
            ),
            Some((_, uri)) => info!(
                path,
                %peer,
                status,
                duration_ms,
                topic = %peer_text(uri),
                "request answered"
            ),
            None => info!(path, %peer, status, duration_ms, "request answered"),
        }
    }

    /// `accept`, then the body as a JSON object with a string member `uri_field`.
    pub async fn accept_request(
        &self,
        req: Request<Incoming>,
        requester: Requester,
        uri_field: &str,
    ) -> Result<BridgeRequest, HttpResponse> {
        let accepted = self.accept(req, requester).await?;
        let origin = accepted.origin;
        let parsed = parse_object(&accepted.body).and_then(|mut object| {
            let uri = required_string(&mut object, uri_field)?;
            let (payload, options) = payload_parts(&mut object)?;
            Ok((uri, payload, options))
        });
        match parsed {
            Ok((uri, payload, options)) => Ok(BridgeRequest {
                origin,
                uri,
                payload,
                options,
            }),
            Err(message) => Err(response::error(
                StatusCode::BAD_REQUEST,
                &message,
                origin.as_ref(),
            )),
        }
    }

    fn check_signature(&self, query: &str, body: &[u8]) -> Result<(), signature::Rejection> {
        let args = SigningArgs::from_query(query);
        let window = self.options.timestamp_delta_limit;
        let now = jiff::Timestamp::now();
        match &self.options.signing {
            Some(signing) => {
                let pair = signature::verify(signing, &args, body, window, now)?;
                // A timestamp is accepted for `window` either side of now: remember the nonce
                // for twice that (without a window, for twice the default one).
                let remember = window.unwrap_or(signature::NO_WINDOW_REPLAY_SPAN);
                self.replay.check(pair, remember * 2, Instant::now())
            }
            None => match &args.timestamp {
                Some(timestamp) => signature::check_timestamp(timestamp, window, now),
                None => Ok(()),
            },
        }
    }

    /// The answer for a WAMP error: Crossbar's 200 with the error body, or with
    /// `strict_status` a status that says what happened.
    pub fn wamp_error(
        &self,
        error: &str,
        args: Value,
        kwargs: Value,
        origin: Option<&HeaderValue>,
    ) -> HttpResponse {
        let status = if self.options.strict_status {
            strict_status(error)
        } else {
            StatusCode::OK
        };
        let body = Dict::from([
            ("error".to_owned(), Value::from(error)),
            ("args".to_owned(), args),
            ("kwargs".to_owned(), kwargs),
        ]);
        response::json(status, &body, origin)
    }

    pub fn wamp_error_of(&self, e: &WampError, origin: Option<&HeaderValue>) -> HttpResponse {
        self.wamp_error(
            e.uri,
            Value::List(vec![Value::from(e.message.as_str())]),
            Value::Dict(Dict::new()),
            origin,
        )
    }
}

/// WAMP values as JSON, with bytes in the `"\u0000" + base64` convention.
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn strict_status(error: &str) -> StatusCode {
    match error {
        uri_error::NOT_AUTHORIZED => StatusCode::FORBIDDEN,
        uri_error::INVALID_URI | uri_error::INVALID_ARGUMENT | uri_error::PROTOCOL_VIOLATION => {
            StatusCode::BAD_REQUEST
        }
        uri_error::NO_SUCH_PROCEDURE => StatusCode::NOT_FOUND,
        uri_error::TIMEOUT => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::OK,
    }
}

pub fn body_limit(post_body_limit: usize) -> usize {
    if post_body_limit == 0 {
        HARD_BODY_LIMIT
    } else {
        post_body_limit.min(HARD_BODY_LIMIT)
    }
}

pub fn too_large(limit: usize) -> String {
    format!("request body larger than post_body_limit ({limit} bytes)")
}

/// `Content-Type` may be absent; if present it must be JSON, and its charset UTF-8.
fn check_content_type(headers: &hyper::HeaderMap) -> Result<(), String> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value
        .to_str()
        .map_err(|_| "unreadable Content-Type".to_owned())?;
    let mut parts = text.split(';').map(str::trim);
    let mime = parts.next().unwrap_or("");
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(format!(
            "Content-Type must be application/json, not \"{mime}\""
        ));
    }
    for param in parts {
        if let Some((name, value)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("charset")
        {
            let charset = value.trim().trim_matches('"');
            if !(charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")) {
                return Err(format!("charset must be UTF-8, not \"{charset}\""));
            }
        }
    }
    Ok(())
}

/// The declared body length; two Content-Length headers are refused (request smuggling).
fn declared_length(headers: &hyper::HeaderMap) -> Result<Option<usize>, String> {
    let mut values = headers.get_all(header::CONTENT_LENGTH).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("more than one Content-Length header".to_owned());
    }
    first
        .to_str()
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .map(Some)
        .ok_or_else(|| "invalid Content-Length".to_owned())
}

/// Bytes of an unwanted or oversized body read and thrown away so the connection can serve
/// the next request (clients such as crossbarconnect send every request on one connection).
/// Past this the connection is closed instead, with `Connection: close`.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// How reading a request body ended.
pub enum BodyRead {
    Complete(Bytes),
    /// Longer than the limit; `drained` when the rest was read (the connection stays usable).
    TooLarge {
        drained: bool,
    },
    /// Not read: the status to answer with (400 for a broken body, 408 past `body_timeout`).
    Failed(StatusCode, String),
}

tokio::task_local! {
    /// The `body_timeout` of the request being served and when its body must be complete by
    /// (set per request by [`path_table::handle`](crate::transport::path_table::handle)); unset, a body may
    /// take as long as it takes.
    pub static BODY_DEADLINE: (tokio::time::Instant, std::time::Duration);
}

/// Reads the body keeping at most `limit` bytes; past that it reads on (discarding) up to
/// [`DRAIN_LIMIT`] so a refusal does not break keep-alive.
///
/// A body not complete by the request's [`BODY_DEADLINE`] fails with 408: a client that
/// trickles its body in holds a connection no longer than `body_timeout`.
pub async fn read_body(mut body: Incoming, limit: usize) -> BodyRead {
    let mut kept = Vec::new();
    let mut total = 0usize;
    let deadline = BODY_DEADLINE.try_with(|deadline| *deadline).ok();
    loop {
        let frame = match deadline {
            Some((at, timeout)) => match tokio::time::timeout_at(at, body.frame()).await {
                Ok(frame) => frame,
                Err(_) => {
                    let message = format!(
                        "request body not complete within body_timeout ({} ms)",
                        timeout.as_millis()
                    );
                    return BodyRead::Failed(StatusCode::REQUEST_TIMEOUT, message);
                }
            },
            None => body.frame().await,
        };
        match frame {
            None => break,
            Some(Err(e)) => {
                let message = format!("could not read the request body: {e}");
                return BodyRead::Failed(StatusCode::BAD_REQUEST, message);
            }
            Some(Ok(frame)) => {
                let Some(data) = frame.data_ref() else {
                    continue;
                };
                total = total.saturating_add(data.len());
                if total <= limit {
                    kept.extend_from_slice(data);
                } else if total > limit.saturating_add(DRAIN_LIMIT) {
                    return BodyRead::TooLarge { drained: false };
                }
            }
        }
    }
    if total > limit {
        BodyRead::TooLarge { drained: true }
    } else {
        BodyRead::Complete(Bytes::from(kept))
    }
}

/// Answers a request refused before its body was read: drain the body first, or close.
pub async fn refuse(body: Incoming, response: HttpResponse) -> HttpResponse {
    let drained = matches!(
        read_body(body, 0).await,
        BodyRead::Complete(_) | BodyRead::TooLarge { drained: true }
    );
    keep_alive(response, drained)
}

/// Marks a response `Connection: close` when the request body could not be drained.
pub fn keep_alive(mut response: HttpResponse, drained: bool) -> HttpResponse {
    if !drained {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Parses a JSON object body into WAMP values; errors are the 400 messages of the contract.
pub fn parse_object(body: &[u8]) -> Result<Dict, String> {
    let text = std::str::from_utf8(body).map_err(|_| "request body is not UTF-8".to_owned())?;
    // The router's JSON reader, so integers beyond 64 bits stay exact (serde_json alone would
    // make them floats).
    match crate::wamp::serializer::json::decode(text.as_bytes()) {
        Ok(Value::Dict(dict)) => Ok(dict),
        Ok(_) => Err("request body must be a JSON object".to_owned()),
        Err(e) => Err(format!("request body is not valid JSON: {e}")),
    }
}

/// The `args` / `kwargs` / `options` members of a request object, type-checked.
pub fn payload_parts(object: &mut Dict) -> Result<(Payload, Dict), String> {
    let args = match object.remove("args") {
        None | Some(Value::Null) => None,
        Some(Value::List(l)) => Some(l),
        Some(_) => return Err("\"args\" must be a list".to_owned()),
    };
    let kwargs = match object.remove("kwargs") {
        None | Some(Value::Null) => None,
        Some(Value::Dict(d)) => Some(d),
        Some(_) => return Err("\"kwargs\" must be an object".to_owned()),
    };
    let options = match object.remove("options") {
        None | Some(Value::Null) => Dict::new(),
        Some(Value::Dict(d)) => d,
        Some(_) => return Err("\"options\" must be an object".to_owned()),
    };
    Ok((Payload { args, kwargs }, options))
}

/// A required string member (`topic`, `procedure`).
pub fn required_string(object: &mut Dict, name: &str) -> Result<String, String> {
    match object.remove(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("\"{name}\" must be a string")),
        None => Err(format!("request object has no \"{name}\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_type(value: &str) -> Result<(), String> {
        let mut h = hyper::HeaderMap::new();
        h.insert(header::CONTENT_TYPE, value.parse().unwrap());
        check_content_type(&h)
    }

    #[test]
    fn content_types() {
        assert!(content_type("application/json").is_ok());
        assert!(content_type("Application/JSON; charset=UTF-8").is_ok());
        assert!(content_type("application/json; charset=\"utf8\"").is_ok());
        assert!(content_type("text/plain").is_err());
        assert!(content_type("application/json; charset=latin-1").is_err());
        assert!(check_content_type(&hyper::HeaderMap::new()).is_ok());
    }

    #[test]
    fn body_objects() {
        assert!(parse_object(br#"{"topic": "a"}"#).is_ok());
        assert_eq!(
            parse_object(b"[1]").unwrap_err(),
            "request body must be a JSON object"
        );
        assert!(
            parse_object(b"{")
                .unwrap_err()
                .starts_with("request body is not valid JSON")
        );
        assert_eq!(
            parse_object(b"\xff").unwrap_err(),
            "request body is not UTF-8"
        );
    }

    #[test]
    fn limits() {
        assert_eq!(body_limit(0), HARD_BODY_LIMIT);
        assert_eq!(body_limit(100), 100);
    }
}
