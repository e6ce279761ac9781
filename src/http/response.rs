//! HTTP bridge responses: JSON bodies with the headers Crossbar's services send (content type,
//! no caching, CORS), and the `{"error", "args", "kwargs"}` error shape.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::json;

/// Any response body: a whole one in memory, or one streamed (a file of a `static` path).
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

pub type HttpResponse = Response<Body>;

/// A body of `bytes`, whole.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

const JSON_UTF8: &str = "application/json; charset=UTF-8";

/// A JSON response with the bridge's standard headers; `origin` is the request's Origin,
/// echoed for CORS (or `*`). `body` is serialized directly (not through `serde_json::Value`),
/// so WAMP values keep what JSON can say and `Value` cannot: integers beyond 64 bits.
pub fn json(
    status: StatusCode,
    body: &impl serde::Serialize,
    origin: Option<&HeaderValue>,
) -> HttpResponse {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|e| {
        // Our bodies have string keys only, so this does not happen; say so if it does.
        tracing::error!(error = %e, "cannot serialize a JSON response");
        b"null".to_vec()
    });
    with_headers(status, Bytes::from(bytes), JSON_UTF8, origin)
}

/// `{"error": message, "args": [], "kwargs": {}}` with `status`.
pub fn error(status: StatusCode, message: &str, origin: Option<&HeaderValue>) -> HttpResponse {
    json(
        status,
        &json!({"error": message, "args": [], "kwargs": {}}),
        origin,
    )
}

/// `response` without the CORS headers: for a page that may not read it.
pub fn without_cors(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    headers.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    response
}

/// A plain-text response (webhook `success_response` / `error_response`).
pub fn text(status: StatusCode, body: &str, origin: Option<&HeaderValue>) -> HttpResponse {
    with_headers(
        status,
        Bytes::from(body.to_owned()),
        "text/plain; charset=UTF-8",
        origin,
    )
}

/// The answer to a CORS preflight: 200, empty, listing the methods.
pub fn options(allow: &'static str, origin: Option<&HeaderValue>) -> HttpResponse {
    let mut response = with_headers(StatusCode::OK, Bytes::new(), JSON_UTF8, origin);
    let headers = response.headers_mut();
    headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(allow),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type, Authorization, X-Requested-With"),
    );
    response
}

/// 405 with `Allow`.
pub fn method_not_allowed(allow: &'static str, origin: Option<&HeaderValue>) -> HttpResponse {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed (allowed: {allow})"),
        origin,
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn with_headers(
    status: StatusCode,
    body: Bytes,
    content_type: &'static str,
    origin: Option<&HeaderValue>,
) -> HttpResponse {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store,no-cache,must-revalidate,max-age=0"),
    );
    // `origin` was checked against the path's `allowed_origins` (see `http::cors`).
    let allow_origin = origin.cloned().unwrap_or(HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    response
}
