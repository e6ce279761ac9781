//! The dashboard API's answers: JSON, never cached, and without CORS headers (the page is
//! served from the same origin; no other site may read what it shows).

use hyper::StatusCode;
use hyper::header::{self, HeaderValue};

use crate::http::response::{self, HttpResponse};

/// 200 with `body`.
pub fn ok(body: &impl serde::Serialize) -> HttpResponse {
    private(response::json(StatusCode::OK, body, None))
}

/// `status` with `{"error": message, ...}`.
pub fn error(status: StatusCode, message: &str) -> HttpResponse {
    private(response::error(status, message, None))
}

/// `response` without CORS headers and never stored by a cache.
pub fn private(response: HttpResponse) -> HttpResponse {
    let mut response = response::without_cors(response);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
