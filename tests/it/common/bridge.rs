//! HTTP bridge helpers: requests to publisher/caller/webhook paths over a raw TCP stream,
//! Crossbar's request signing computed here from its definition (not with Junction's own
//! code), and assertions on the response contract (status, headers, JSON body).

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use super::{Client, HttpResponse, raw_http_body};

pub const JSON_UTF8: &str = "application/json; charset=utf-8";
pub const NO_CACHE: &str = "no-store,no-cache,must-revalidate,max-age=0";
pub const MAX_NONCE: u64 = 1 << 53;

/// A bridge path: `{"type": kind, "realm": "realm1", "role": role, "options": options}`.
pub fn bridge_path(kind: &str, role: &str, options: Value) -> Value {
    json!({"type": kind, "realm": "realm1", "role": role, "options": options})
}

/// A web transport on 127.0.0.1:0 with these paths and transport `options` (may be null).
pub fn web(paths: Value, options: Value) -> Value {
    let mut t = json!({
        "type": "web",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
        "paths": paths
    });
    if !options.is_null() {
        t["options"] = options;
    }
    t
}

/// `base64url(HMAC-SHA256(secret, key + timestamp + seq + nonce + body))`, padded.
pub fn signature(
    secret: &str,
    key: &str,
    timestamp: &str,
    seq: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    for part in [
        key.as_bytes(),
        timestamp.as_bytes(),
        seq.as_bytes(),
        nonce.as_bytes(),
        body,
    ] {
        mac.update(part);
    }
    URL_SAFE.encode(mac.finalize().into_bytes())
}

/// Crossbar's timestamp form (UTC, milliseconds, `Z`), `offset_secs` from now.
pub fn timestamp(offset_secs: i64) -> String {
    let when = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(offset_secs);
    when.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The arguments of a signed request, in crossbarconnect's order.
#[derive(Clone, Debug)]
pub struct Signed {
    pub timestamp: String,
    pub seq: String,
    pub key: String,
    pub nonce: String,
    pub signature: String,
}

impl Signed {
    /// Signed now, with a random nonce.
    pub fn new(key: &str, secret: &str, body: &[u8], seq: u64) -> Signed {
        Signed::with(
            key,
            secret,
            body,
            &seq.to_string(),
            &rand::random_range(0..=MAX_NONCE).to_string(),
            &timestamp(0),
        )
    }

    pub fn with(
        key: &str,
        secret: &str,
        body: &[u8],
        seq: &str,
        nonce: &str,
        timestamp: &str,
    ) -> Signed {
        Signed {
            timestamp: timestamp.into(),
            seq: seq.into(),
            key: key.into(),
            nonce: nonce.into(),
            signature: signature(secret, key, timestamp, seq, nonce, body),
        }
    }

    /// The query string (URL-encoded).
    pub fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("timestamp", &self.timestamp)
            .append_pair("seq", &self.seq)
            .append_pair("key", &self.key)
            .append_pair("nonce", &self.nonce)
            .append_pair("signature", &self.signature)
            .finish()
    }
}

/// An HTTP request: `method target` (path with query) with `Content-Type: application/json`
/// unless `headers` name another one, extra header lines, and `body`.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[&str],
    body: &[u8],
) -> HttpResponse {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("content-type:"))
    {
        head.push_str("Content-Type: application/json\r\n");
    }
    for line in headers {
        head.push_str(line);
        head.push_str("\r\n");
    }
    raw_http_body(addr, &head, body).await
}

/// POST of `body` (a JSON value, sent compact) to `target`.
pub async fn post_json(
    addr: SocketAddr,
    target: &str,
    headers: &[&str],
    body: &Value,
) -> HttpResponse {
    request(addr, "POST", target, headers, body.to_string().as_bytes()).await
}

/// The headers every bridge response carries: JSON content type (when `json_type`), no
/// caching, CORS for `origin` (`*` when the request had none).
#[track_caller]
pub fn assert_bridge_headers(res: &HttpResponse, origin: Option<&str>, json_type: bool) {
    if json_type {
        let ct = res
            .header("content-type")
            .map(|v| v.to_ascii_lowercase().replace(' ', ""));
        assert_eq!(
            ct.as_deref(),
            Some(JSON_UTF8.replace(' ', "").as_str()),
            "Content-Type: {res:?}"
        );
        assert_eq!(
            res.header("cache-control"),
            Some(NO_CACHE),
            "Cache-Control: {res:?}"
        );
    }
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some(origin.unwrap_or("*")),
        "{res:?}"
    );
    assert_eq!(
        res.header("access-control-allow-credentials"),
        Some("true"),
        "{res:?}"
    );
}

/// A refused request: `status` and `{"error": <message>, "args": [], "kwargs": {}}`; returns
/// the message.
#[track_caller]
pub fn assert_http_error(res: &HttpResponse, status: u16) -> String {
    assert_http_error_from(res, status, None)
}

#[track_caller]
pub fn assert_http_error_from(res: &HttpResponse, status: u16, origin: Option<&str>) -> String {
    assert_eq!(
        res.status,
        status,
        "expected {status}: {res:?} {}",
        String::from_utf8_lossy(&res.body)
    );
    assert_bridge_headers(res, origin, true);
    let body = res.json();
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {body}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["args", "error", "kwargs"],
        "error body shape: {body}"
    );
    assert_eq!(body["args"], json!([]), "{body}");
    assert_eq!(body["kwargs"], json!({}), "{body}");
    let message = body["error"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty(), "error message: {body}");
    message
}

/// A WAMP error outcome: `status` and `{"error": uri, ...}`; returns the body.
#[track_caller]
pub fn assert_wamp_error(res: &HttpResponse, uri: &str, status: u16) -> Value {
    assert_eq!(
        res.status,
        status,
        "expected {status} with {uri}: {res:?} {}",
        String::from_utf8_lossy(&res.body)
    );
    assert_bridge_headers(res, None, true);
    let body = res.json();
    assert_eq!(body["error"], uri, "{body}");
    body
}

/// A successful publish: `status` and exactly `{"id": <publication id>}`; returns the id.
#[track_caller]
pub fn assert_published(res: &HttpResponse, status: u16) -> u64 {
    assert_eq!(
        res.status,
        status,
        "expected {status}: {res:?} {}",
        String::from_utf8_lossy(&res.body)
    );
    assert_bridge_headers(res, None, true);
    let body = res.json();
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("success body: {body}"));
    assert_eq!(obj.len(), 1, "success body has only the id: {body}");
    let id = body["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("publication id: {body}"));
    assert!(
        (1..=MAX_NONCE).contains(&id),
        "publication id out of range: {body}"
    );
    id
}

/// The next EVENT `client` receives: (subscription, publication, args, kwargs). Panics if
/// another message or none comes.
pub async fn next_event(client: &mut Client) -> (u64, u64, Value, Value) {
    let msg = client.recv().await;
    assert_eq!(msg[0], 36, "expected EVENT, got {msg}");
    (
        msg[1].as_u64().unwrap(),
        msg[2].as_u64().unwrap(),
        msg.get(4).cloned().unwrap_or(json!([])),
        msg.get(5).cloned().unwrap_or(json!({})),
    )
}
