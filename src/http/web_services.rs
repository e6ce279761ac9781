//! The small web services of a path table: `redirect`, `json`, `nodeinfo` and `none`
//! (configured in `config/web_services.rs`). Each answers GET and HEAD; other methods get 405.

use std::time::Instant;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use crate::config::JsonService;
use crate::http::response::{self, HttpResponse};

/// 405 unless `req` is a GET or HEAD.
pub fn only_get<B>(req: &Request<B>) -> Option<HttpResponse> {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return None;
    }
    let mut refused = response::error(
        StatusCode::METHOD_NOT_ALLOWED,
        "this path answers GET and HEAD",
        None,
    );
    refused
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    Some(refused)
}

/// A redirect to `url` with `status` (Crossbar: 302), whatever the path below.
pub fn redirect(url: &str, status: u16) -> HttpResponse {
    let mut answer = Response::new(response::full(Bytes::new()));
    *answer.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND);
    if let Ok(location) = HeaderValue::from_str(url) {
        answer.headers_mut().insert(header::LOCATION, location);
    }
    answer
}

/// The fixed document of a `json` path.
pub fn json(service: &JsonService) -> HttpResponse {
    let mut answer = Response::new(response::full(Bytes::from(service.body.clone())));
    let headers = answer.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if service.allow_cross_origin {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    if service.discourage_caching {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
        );
    }
    answer
}

/// What this node is: Junction's version, its realms, how long it has run, and who asks.
pub fn node_info(realms: &[String], started: Instant, peer: &str) -> HttpResponse {
    let seconds = started.elapsed().as_secs();
    let uptime = format!(
        "{}d {:02}:{:02}:{:02}",
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60
    );
    let realms: Vec<String> = realms.iter().map(|r| escape(r)).collect();
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Junction</title></head>\
         <body><h1>Junction {version}</h1><dl>\
         <dt>realms</dt><dd>{realms}</dd>\
         <dt>uptime</dt><dd>{uptime}</dd>\
         <dt>process</dt><dd>{pid}</dd>\
         <dt>you are</dt><dd>{peer}</dd>\
         </dl></body></html>\n",
        version = env!("CARGO_PKG_VERSION"),
        realms = realms.join(", "),
        pid = std::process::id(),
        peer = escape(peer),
    );
    let mut answer = Response::new(response::full(Bytes::from(html)));
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    answer
}

/// A `none` path: nothing here.
pub fn nothing(path: &str) -> HttpResponse {
    response::error(
        StatusCode::NOT_FOUND,
        &format!("no service at {path}"),
        None,
    )
}

/// A path Junction accepts but does not run (Python code inside Crossbar): 501, saying what
/// to run instead.
pub fn not_run(instead: &str) -> HttpResponse {
    response::error(
        StatusCode::NOT_IMPLEMENTED,
        &format!("this path is not run by Junction: {instead}"),
        None,
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
