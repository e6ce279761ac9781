//! The topics API (`"type": "topics-api"`): http-poller topics of one realm over HTTP, in the
//! Streams shape. Under the path (e.g. `/streams/hub/api/v1`):
//!
//! - `GET /topics`: every topic; `POST /topics`: create one (201);
//! - `GET /topics/{name}`, `PATCH /topics/{name}` (JSON merge patch, `null` removes a key
//!   such as a header), `DELETE /topics/{name}` (204);
//! - `GET /topics/{name}/polls`: the last poll records, newest first.
//!
//! Guards, checked before the body is read: `require_ip`, then `Authorization: Bearer <token>`
//! compared in constant time. Errors are `{"error": message, "path": json path}` with 400
//! (invalid definition, the path names the key), 401, 403, 404, 405, 409 (duplicate name, or
//! a topic of config.json), 413, 415, 500 and 503 (in a cluster, NATS did not answer). Topic definitions are shown with their secrets
//! redacted.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::config::TopicsApiService;
use crate::http::bridge::{self, BodyRead};
use crate::http::requester::Requester;
use crate::http::response::{self, HttpResponse};
use crate::poller::supervisor::{Pollers, RealmPollers, TopicsError};
use crate::store::StoreError;

pub struct TopicsApiPath {
    path: String,
    service: TopicsApiService,
    pollers: Option<Arc<RealmPollers>>,
}

/// What a request under the path asks for.
enum Route<'a> {
    Topics,
    Topic(&'a str),
    Polls(&'a str),
}

impl TopicsApiPath {
    pub fn new(path: &str, service: &TopicsApiService, pollers: &Pollers) -> TopicsApiPath {
        TopicsApiPath {
            path: path.trim_end_matches('/').to_owned(),
            service: service.clone(),
            pollers: pollers.realm(&service.realm).cloned(),
        }
    }

    pub async fn handle(&self, req: Request<Incoming>, requester: Requester) -> HttpResponse {
        let (head, body) = req.into_parts();
        if let Some(allowed) = &self.service.require_ip
            && !requester.ip_allowed(allowed)
        {
            let refused = error(StatusCode::FORBIDDEN, "client address not allowed", None);
            return bridge::refuse(body, refused).await;
        }
        if let Some(token) = &self.service.bearer_token
            && !bearer_matches(head.headers.get(header::AUTHORIZATION), token.expose())
        {
            let mut refused = error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token",
                None,
            );
            refused
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return bridge::refuse(body, refused).await;
        }
        let Some(pollers) = &self.pollers else {
            let failed = error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "pollers did not start",
                None,
            );
            return bridge::refuse(body, failed).await;
        };
        let rest = &head.uri.path()[self.path.len()..];
        let Some(route) = route(rest) else {
            let missing = error(
                StatusCode::NOT_FOUND,
                &format!("no resource at {rest}"),
                None,
            );
            return bridge::refuse(body, missing).await;
        };
        let method = head.method.clone();
        let mut drained = true;
        let definition = match (&route, &method) {
            (Route::Topics, &Method::POST) | (Route::Topic(_), &Method::PATCH) => {
                match self.json_body(&head, body).await {
                    Ok(json) => Some(json),
                    Err(response) => return response,
                }
            }
            _ => {
                drained = matches!(
                    bridge::read_body(body, 0).await,
                    BodyRead::Complete(_) | BodyRead::TooLarge { drained: true }
                );
                None
            }
        };
        let result = match (route, method, definition) {
            (Route::Topics, Method::GET, _) => {
                Ok((StatusCode::OK, Json::from(pollers.list().await)))
            }
            (Route::Topics, Method::POST, Some(definition)) => pollers
                .create(definition)
                .await
                .map(|view| (StatusCode::CREATED, view)),
            (Route::Topic(name), Method::GET, _) => {
                pollers.get(name).await.map(|view| (StatusCode::OK, view))
            }
            (Route::Topic(name), Method::PATCH, Some(patch)) => pollers
                .patch(name, &patch)
                .await
                .map(|view| (StatusCode::OK, view)),
            (Route::Topic(name), Method::DELETE, _) => pollers
                .delete(name)
                .await
                .map(|()| (StatusCode::NO_CONTENT, Json::Null)),
            (Route::Polls(name), Method::GET, _) => pollers
                .polls(name)
                .await
                .map(|records| (StatusCode::OK, bridge::to_json(&records))),
            (Route::Topics, _, _) => return method_not_allowed("GET, POST", drained),
            (Route::Topic(_), _, _) => return method_not_allowed("GET, PATCH, DELETE", drained),
            (Route::Polls(_), _, _) => return method_not_allowed("GET", drained),
        };
        let response = match result {
            Ok((StatusCode::NO_CONTENT, _)) => {
                let mut response = response::text(StatusCode::NO_CONTENT, "", None);
                response.headers_mut().remove(header::CONTENT_TYPE);
                response
            }
            Ok((status, body)) => response::json(status, &body, None),
            Err(e) => topics_error(&e),
        };
        bridge::keep_alive(response, drained)
    }

    /// Reads a JSON body (`Content-Type: application/json` or
    /// `application/merge-patch+json`) within `post_body_limit`.
    async fn json_body(
        &self,
        head: &hyper::http::request::Parts,
        body: Incoming,
    ) -> Result<Json, HttpResponse> {
        let content_type = head
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json")
            && !essence.eq_ignore_ascii_case("application/merge-patch+json")
        {
            let refused = error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json or application/merge-patch+json",
                None,
            );
            return Err(bridge::refuse(body, refused).await);
        }
        let limit = bridge::body_limit(self.service.post_body_limit);
        match bridge::read_body(body, limit).await {
            BodyRead::Complete(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                error(
                    StatusCode::BAD_REQUEST,
                    &format!("request body is not JSON: {e}"),
                    None,
                )
            }),
            BodyRead::TooLarge { drained } => Err(bridge::keep_alive(
                error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &bridge::too_large(limit),
                    None,
                ),
                drained,
            )),
            BodyRead::Failed(status, message) => {
                Err(bridge::keep_alive(error(status, &message, None), false))
            }
        }
    }
}

fn route(rest: &str) -> Option<Route<'_>> {
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_prefix("/topics")?;
    if rest.is_empty() {
        return Some(Route::Topics);
    }
    let rest = rest.strip_prefix('/')?;
    match rest.split_once('/') {
        None if !rest.is_empty() => Some(Route::Topic(rest)),
        Some((name, "polls")) if !name.is_empty() => Some(Route::Polls(name)),
        _ => None,
    }
}

/// Compares the bearer token through SHA-256 digests, so the time taken does not depend on
/// where the tokens differ.
fn bearer_matches(header: Option<&HeaderValue>, token: &str) -> bool {
    let Some(given) = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (Sha256::digest(given.trim()), Sha256::digest(token));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn error(status: StatusCode, message: &str, path: Option<&str>) -> HttpResponse {
    let mut body = json!({"error": message});
    if let Some(path) = path {
        body["path"] = json!(path);
    }
    response::json(status, &body, None)
}

fn topics_error(e: &TopicsError) -> HttpResponse {
    match e {
        TopicsError::Invalid { path, message } => {
            error(StatusCode::BAD_REQUEST, message, Some(path))
        }
        TopicsError::NotFound(_) => error(StatusCode::NOT_FOUND, &e.to_string(), None),
        TopicsError::Duplicate(_) | TopicsError::ReadOnly(_) => {
            error(StatusCode::CONFLICT, &e.to_string(), None)
        }
        // The store is held by another process for now (see `router::store_retry`).
        TopicsError::Store(StoreError::NotOpen { .. }) => {
            tracing::warn!("topics API: {e}");
            error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), None)
        }
        TopicsError::Store(_) => {
            tracing::error!(error = %e, "topics API failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), None)
        }
        TopicsError::Cluster(_) => {
            tracing::warn!(error = %e, "topics API failed");
            error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), None)
        }
    }
}

fn method_not_allowed(allow: &'static str, drained: bool) -> HttpResponse {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed (allowed: {allow})"),
        None,
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    bridge::keep_alive(response, drained)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert!(matches!(route("/topics"), Some(Route::Topics)));
        assert!(matches!(route("/topics/"), Some(Route::Topics)));
        assert!(matches!(route("/topics/a.b"), Some(Route::Topic("a.b"))));
        assert!(matches!(
            route("/topics/a.b/polls"),
            Some(Route::Polls("a.b"))
        ));
        assert!(route("/topics/a.b/other").is_none());
        assert!(route("/other").is_none());
        assert!(route("").is_none());
    }

    #[test]
    fn bearer_tokens() {
        let header = HeaderValue::from_static("Bearer s3cret");
        assert!(bearer_matches(Some(&header), "s3cret"));
        assert!(!bearer_matches(Some(&header), "s3cre"));
        assert!(!bearer_matches(None, "s3cret"));
        assert!(!bearer_matches(
            Some(&HeaderValue::from_static("s3cret")),
            "s3cret"
        ));
    }
}
