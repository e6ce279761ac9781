//! The webhook path (`"type": "webhook"`): every accepted request becomes one event on the
//! configured topic. Crossbar's form publishes `{"headers": {name: [values]}, "body": raw}`;
//! with `decode: "json"` (eKuiper's httppush idea for devices) the parsed body is published,
//! as kwargs when it is an object, else as the single argument.
//!
//! The answer comes only after the publish is accepted: nothing is acknowledged and then
//! dropped. When too many requests are in flight the path answers 503 with `Retry-After`.

use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use tokio::sync::Semaphore;

use crate::config::WebhookService;
use crate::http::bridge::{self, BodyRead};
use crate::http::cors;
use crate::http::response::{self, HttpResponse};
use crate::router::Router;
use crate::router::internal::InternalPublisher;
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, Value};

/// Requests one webhook path handles at once before answering 503.
const MAX_IN_FLIGHT: usize = 1024;

pub struct WebhookPath {
    service: WebhookService,
    publisher: InternalPublisher,
    in_flight: Arc<Semaphore>,
    allow: &'static str,
}

impl WebhookPath {
    pub fn new(path: &str, service: &WebhookService, router: &Router) -> Option<WebhookPath> {
        let realm = router.realm(&service.realm)?;
        let allow = match (
            service.methods.iter().any(|m| m == "POST"),
            service.methods.iter().any(|m| m == "PUT"),
        ) {
            (true, true) => "POST,PUT,OPTIONS",
            (false, true) => "PUT,OPTIONS",
            _ => "POST,OPTIONS",
        };
        Some(WebhookPath {
            service: service.clone(),
            publisher: InternalPublisher::new(
                realm,
                &service.role,
                &format!("http-webhook:{path}"),
            ),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            allow,
        })
    }

    pub async fn handle(&self, req: Request<Incoming>) -> HttpResponse {
        let (head, body) = req.into_parts();
        let origin = match cors::check(&self.service.allowed_origins, &head.headers) {
            Ok(origin) => origin,
            Err(refused) => return bridge::refuse(body, refused).await,
        };
        let origin = origin.as_ref();
        if head.method == hyper::Method::OPTIONS {
            return bridge::refuse(body, response::options(self.allow, origin)).await;
        }
        if !self
            .service
            .methods
            .iter()
            .any(|m| m == head.method.as_str())
        {
            return bridge::refuse(body, response::method_not_allowed(self.allow, origin)).await;
        }
        let Ok(_permit) = self.in_flight.try_acquire() else {
            let mut busy = response::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many requests in flight, retry later",
                origin,
            );
            busy.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return bridge::refuse(body, busy).await;
        };
        let headers = head.headers;
        let limit = bridge::body_limit(self.service.post_body_limit);
        let body = match bridge::read_body(body, limit).await {
            BodyRead::Complete(body) => body,
            BodyRead::TooLarge { drained } => {
                let too_large = response::error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &bridge::too_large(limit),
                    origin,
                );
                return bridge::keep_alive(too_large, drained);
            }
            BodyRead::Failed(status, message) => {
                return bridge::keep_alive(response::error(status, &message, origin), false);
            }
        };
        if let Some(secret) = &self.service.github_secret
            && !github_signature_ok(&headers, secret.expose(), &body)
        {
            return response::error(
                StatusCode::UNAUTHORIZED,
                "invalid or missing X-Hub-Signature",
                origin,
            );
        }
        let payload = if self.service.decode_json {
            match crate::wamp::serializer::json::decode(&body) {
                Ok(Value::Dict(kwargs)) => Payload {
                    args: None,
                    kwargs: Some(kwargs),
                },
                Ok(value) => Payload {
                    args: Some(vec![value]),
                    kwargs: None,
                },
                Err(e) => {
                    return response::error(
                        StatusCode::BAD_REQUEST,
                        &format!("request body is not valid JSON: {e}"),
                        origin,
                    );
                }
            }
        } else {
            Payload {
                args: Some(vec![raw_event(&headers, &body)]),
                kwargs: None,
            }
        };
        match self
            .publisher
            .publish(&Dict::new(), &self.service.topic, &payload)
        {
            Ok(_) => response::text(StatusCode::ACCEPTED, &self.service.success_response, origin),
            Err(e) => {
                tracing::warn!(
                    topic = self.service.topic,
                    error = %crate::log_text::peer_text(&e.message),
                    "webhook publish failed"
                );
                response::text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &self.service.error_response,
                    origin,
                )
            }
        }
    }
}

/// Crossbar's webhook event: `{"headers": {Name: [values]}, "body": raw body}`.
fn raw_event(headers: &hyper::HeaderMap, body: &[u8]) -> Value {
    let headers = crate::http_peer::callee::crossbar_rest::crossbar_headers(headers);
    let body = match std::str::from_utf8(body) {
        Ok(text) => Value::from(text),
        Err(_) => Value::Bytes(body.to_vec()),
    };
    let mut event = Dict::new();
    event.insert("headers".into(), Value::Dict(headers));
    event.insert("body".into(), body);
    Value::Dict(event)
}

/// GitHub's `X-Hub-Signature-256: sha256=<hex>` (or the older `X-Hub-Signature: sha1=<hex>`),
/// an HMAC of the body with the shared secret, verified in constant time.
fn github_signature_ok(headers: &hyper::HeaderMap, secret: &str, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(given) = header("x-hub-signature-256").and_then(|v| v.strip_prefix("sha256=")) {
        return verify_hex::<Hmac<sha2::Sha256>>(secret, body, given);
    }
    if let Some(given) = header("x-hub-signature").and_then(|v| v.strip_prefix("sha1=")) {
        return verify_hex::<Hmac<sha1::Sha1>>(secret, body, given);
    }
    false
}

fn verify_hex<M: Mac + KeyInit>(secret: &str, body: &[u8], given_hex: &str) -> bool {
    let Ok(given) = hex::decode(given_hex.trim()) else {
        return false;
    };
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_peer::callee::crossbar_rest::title_case;

    #[test]
    fn github_signatures() {
        // Python: hmac.new(b"s3cret", b"{}", hashlib.sha256 / hashlib.sha1).hexdigest()
        let mut h = hyper::HeaderMap::new();
        h.insert(
            "x-hub-signature-256",
            "sha256=adbde1ce40c89c14215687d5d762a47df6dfaefcfad61e2e86718ffc8498571b"
                .parse()
                .unwrap(),
        );
        assert!(github_signature_ok(&h, "s3cret", b"{}"));
        assert!(!github_signature_ok(&h, "s3cret", b"{ }"));
        assert!(!github_signature_ok(&h, "other", b"{}"));
        let mut h = hyper::HeaderMap::new();
        h.insert(
            "x-hub-signature",
            "sha1=e7e0225292f975eab7d48999ea520020ef91b18d"
                .parse()
                .unwrap(),
        );
        assert!(github_signature_ok(&h, "s3cret", b"{}"));
        assert!(!github_signature_ok(
            &hyper::HeaderMap::new(),
            "s3cret",
            b"{}"
        ));
    }

    #[test]
    fn header_names_in_crossbar_case() {
        assert_eq!(title_case("x-github-event"), "X-Github-Event");
        assert_eq!(title_case("content-type"), "Content-Type");
        assert_eq!(title_case("te"), "Te");
    }

    #[test]
    fn raw_event_shape() {
        let mut h = hyper::HeaderMap::new();
        h.append("x-a", "1".parse().unwrap());
        h.append("x-a", "2".parse().unwrap());
        let Value::Dict(event) = raw_event(&h, b"hello") else {
            panic!()
        };
        assert_eq!(event["body"], Value::from("hello"));
        assert_eq!(
            event["headers"].as_dict().unwrap()["X-A"],
            Value::List(vec![Value::from("1"), Value::from("2")])
        );
    }
}
