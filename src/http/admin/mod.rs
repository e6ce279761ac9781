//! An `admin` path (`"type": "admin"`): the operator dashboard. The page (`index.html`,
//! `app.js`, `app.css`, built into the binary) is served at the path; it logs in with a user
//! of the path's config and then reads a small JSON API below `<path>/api/` every second or
//! two, and the live tail as `text/event-stream`.
//!
//! The dashboard talks JSON rather than WAMP: it needs what the meta API does not give
//! (per-session message counts, bridge request rates, poller records of every realm, process
//! figures), logs in with its own users rather than a realm role, and so needs no WAMP client
//! in the page. Routing here; logins in `auth.rs`, the lists and actions in `api.rs`, rates in
//! `stats.rs`, the live tail in `tail.rs`.

mod api;
mod auth;
mod reply;
mod stats;
mod tail;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;

use crate::config::{AdminRole, AdminService, DEFAULT_MAX_FAILED_LOGINS};
use crate::http::bridge::{BodyRead, read_body};
use crate::http::response::{self, HttpResponse};
use crate::poller::supervisor::Pollers;
use crate::router::Router;
use crate::router::auth::FailedLogins;

use auth::Logins;
use reply::{error, ok, private};

const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");
/// A login body is small.
const LOGIN_BODY_LIMIT: usize = 4096;

/// One admin path, prepared at start.
pub struct AdminPath {
    /// The path as configured (`/admin`).
    prefix: String,
    /// `index.html` with the path filled in.
    index: String,
    logins: Logins,
    pollers: Arc<Pollers>,
    tls: bool,
    started: Instant,
}

#[derive(Deserialize)]
struct LoginRequest {
    user: String,
    password: String,
}

impl AdminPath {
    pub fn new(path: &str, config: &AdminService, pollers: &Arc<Pollers>, tls: bool) -> AdminPath {
        let prefix = path.trim_end_matches('/').to_owned();
        let base = format!("{prefix}/");
        AdminPath {
            index: INDEX_HTML.replace("__BASE__", &html_escape(&base)),
            prefix,
            logins: Logins::new(config.users.clone()),
            pollers: Arc::clone(pollers),
            tls,
            started: Instant::now(),
        }
    }

    /// Answers one request from `client` (the address failed logins are counted by).
    pub async fn handle(
        &self,
        router: &Router,
        req: Request<Incoming>,
        client: IpAddr,
    ) -> HttpResponse {
        let below = req
            .uri()
            .path()
            .strip_prefix(&self.prefix)
            .unwrap_or_default()
            .to_owned();
        let Some(call) = below.strip_prefix("/api/") else {
            return self.page(&req, &below);
        };
        let call = call.to_owned();
        match (req.method().clone(), call.as_str()) {
            (Method::POST, "login") => return self.log_in(req, client).await,
            (Method::POST, "logout") => {
                self.logins.log_out(req.headers());
                let mut answer = ok(&serde_json::json!({"logged_out": true}));
                self.set_cookie(&mut answer, "");
                return answer;
            }
            _ => {}
        }
        let Some(login) = self.logins.check(req.headers()) else {
            return error(StatusCode::UNAUTHORIZED, "log in first");
        };
        let query = query(&req);
        let realm = query.get("realm").map(String::as_str);
        let parts: Vec<&str> = call.split('/').collect();
        let method = req.method().clone();
        let may_act = login.role == AdminRole::Admin;
        match (method, parts.as_slice()) {
            (Method::GET, ["whoami"]) => ok(&serde_json::json!({
                "user": login.user, "role": login.role.name()})),
            (Method::GET, ["overview"]) => api::overview(router, self.started),
            (Method::GET, ["sessions"]) => api::sessions(router, realm),
            (Method::GET, ["subscriptions"]) => api::patterns(router, realm, "subscription"),
            (Method::GET, ["registrations"]) => api::patterns(router, realm, "registration"),
            (Method::GET, ["pollers"]) => api::pollers(&self.pollers).await,
            (Method::GET, ["stats"]) => stats::stats(router),
            (Method::GET, ["bridge"]) => stats::bridge(router),
            (Method::GET, ["tail"]) => {
                tail::tail(
                    realm.and_then(|name| router.realm(name)),
                    query.get("topic").map(String::as_str),
                    query.get("match").map(String::as_str),
                )
                .await
            }
            (Method::POST, ["sessions", _, "kill"] | ["pollers", _, _, "poll"]) if !may_act => {
                error(
                    StatusCode::FORBIDDEN,
                    &format!(
                        "user \"{}\" is a viewer: only an admin may do this",
                        login.user
                    ),
                )
            }
            (Method::POST, ["sessions", session, "kill"]) => api::kill(router, realm, session),
            (Method::POST, ["pollers", realm, topic, "poll"]) => {
                api::poll_now(&self.pollers, &decode(realm), &decode(topic))
            }
            (_, ["sessions", _, "kill"] | ["pollers", _, _, "poll"]) => {
                error(StatusCode::METHOD_NOT_ALLOWED, "use POST")
            }
            (
                _,
                [
                    "whoami" | "overview" | "sessions" | "subscriptions" | "registrations"
                    | "pollers" | "stats" | "bridge" | "tail",
                ],
            ) => error(StatusCode::METHOD_NOT_ALLOWED, "use GET"),
            _ => error(
                StatusCode::NOT_FOUND,
                &format!("no admin API call \"{call}\""),
            ),
        }
    }

    /// The page and its files.
    fn page(&self, req: &Request<Incoming>, below: &str) -> HttpResponse {
        let (body, kind) = match below {
            "" | "/" | "/index.html" => {
                (Bytes::from(self.index.clone()), "text/html; charset=utf-8")
            }
            "/app.js" => (
                Bytes::from_static(APP_JS.as_bytes()),
                "text/javascript; charset=utf-8",
            ),
            "/app.css" => (
                Bytes::from_static(APP_CSS.as_bytes()),
                "text/css; charset=utf-8",
            ),
            _ => return error(StatusCode::NOT_FOUND, &format!("no file {below} here")),
        };
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return error(StatusCode::METHOD_NOT_ALLOWED, "use GET");
        }
        let mut answer = hyper::Response::new(response::full(body));
        let headers = answer.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        // The page may not be framed by another site (clickjacking the kill button).
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
        );
        private(answer)
    }

    /// Checks a user and password; failures count against the client's address in the
    /// process's failed-login table (the one WAMP logins use), so that past its burst even a
    /// right password waits: a password cannot be guessed at network speed.
    async fn log_in(&self, req: Request<Incoming>, client: IpAddr) -> HttpResponse {
        let failed = FailedLogins::global();
        if let Some(wait) = failed.blocked(client, DEFAULT_MAX_FAILED_LOGINS) {
            let seconds = wait.as_secs().max(1);
            let mut answer = error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("too many failed logins from this address: try again in {seconds} s"),
            );
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            return answer;
        }
        let body = match read_body(req.into_body(), LOGIN_BODY_LIMIT).await {
            BodyRead::Complete(body) => body,
            BodyRead::TooLarge { .. } => {
                return error(StatusCode::PAYLOAD_TOO_LARGE, "a login body is small");
            }
            BodyRead::Failed(status, message) => return error(status, &message),
        };
        let Ok(login) = serde_json::from_slice::<LoginRequest>(&body) else {
            return error(
                StatusCode::BAD_REQUEST,
                "expected a JSON object {\"user\": ..., \"password\": ...}",
            );
        };
        let Some((token, role)) = self.logins.log_in(&login.user, &login.password) else {
            failed.failed(client);
            return error(StatusCode::UNAUTHORIZED, "wrong user or password");
        };
        let mut answer = ok(&serde_json::json!({"user": login.user, "role": role.name()}));
        self.set_cookie(&mut answer, &token);
        answer
    }

    fn set_cookie(&self, answer: &mut HttpResponse, token: &str) {
        let path = if self.prefix.is_empty() {
            "/"
        } else {
            &self.prefix
        };
        let cookie = auth::set_cookie(token, path, self.tls);
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            answer.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// A percent-encoded path segment (a realm or topic name).
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
