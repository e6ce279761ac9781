//! The HTTP answer, read up to `max_response_bytes`, as a WAMP value: JSON when the answer says
//! it is JSON (`application/json`, `*/*+json`) or says nothing and parses, else text; an
//! empty body is no value at all.

use reqwest::header::CONTENT_TYPE;

use crate::http_peer::callee::failure::Failure;
use crate::wamp::value::Value;

/// The whole body, refused past `limit` bytes (by `Content-Length` before reading, else while
/// reading).
pub async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, Failure> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(Failure::TooLarge(limit));
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(Failure::TooLarge(limit));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(crate::http_peer::callee::failure::unreachable(&e)),
        }
    }
}

/// The body as a value (`None` when empty).
pub fn body_value(content_type: Option<&str>, body: &[u8]) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    let json = match essence.as_deref() {
        None => true,
        Some(t) => t == "application/json" || t.ends_with("+json"),
    };
    if json && let Ok(value) = crate::wamp::serializer::json::decode(body) {
        return Some(value);
    }
    Some(Value::from(String::from_utf8_lossy(body).into_owned()))
}

/// The `Content-Type` of `response`, if readable.
pub fn content_type(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
