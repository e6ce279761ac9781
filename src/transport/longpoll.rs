//! A `longpoll` path: WAMP over HTTP long-poll, as the WAMP advanced profile describes it and
//! autobahn.js speaks it (`{type: 'longpoll', url: 'http://host/lp'}`). Every request is a
//! POST below the path:
//!
//! - `open` with `{"protocols": ["wamp.2.json", ...]}`: a new transport, answered
//!   `{"transport": id, "protocol": chosen}` (the first protocol of the client's list this path
//!   serves);
//! - `<id>/send`: one message (unbatched protocols) or a batch; 204 once the session took it,
//!   400 when it breaks the protocol;
//! - `<id>/receive`: one queued message (unbatched) or all of them (batched), at once or as
//!   soon as one is queued; 204 with no body after `request_timeout`;
//! - `<id>/close`: the session leaves; 204.
//!
//! An unknown transport id is 404 with a JSON error. The transport itself, a WAMP connection
//! like a WebSocket's, is [`transport`].

pub mod transport;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use parking_lot::Mutex;
use serde_json::json;

use crate::config::{LongPollOptions, LongPollService};
use crate::http::bridge::{self, BodyRead};
use crate::http::response::{self, HttpResponse};
use crate::router::Router;
use crate::router::auth::Authenticator;
use crate::router::auth::cookie::CookieJar;
use crate::wamp::serializer::{Serialization, Subprotocol};
use transport::{Sent, Setup, Transport};

/// How long a closed transport's id still answers `close` (with 204) rather than 404: a client
/// closes after the session ended (ABORT, GOODBYE at shutdown) and expects that to succeed.
const LINGER: Duration = Duration::from_secs(30);

/// The largest `open` body.
const OPEN_BODY_LIMIT: usize = 64 * 1024;

const ALLOW: &str = "POST,OPTIONS";

type Table = Arc<Mutex<HashMap<String, Arc<Transport>>>>;

pub struct LongPollPath {
    /// The path, e.g. `/lp`.
    prefix: String,
    service: LongPollService,
    router: Arc<Router>,
    authenticator: Arc<Authenticator>,
    transports: Table,
    places: Arc<Mutex<Places>>,
}

/// Open transports in all and by client address: one client must not fill the node with
/// transports (each holds a session until `join_timeout` or `session_timeout`).
#[derive(Default)]
struct Places {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

impl Places {
    /// Takes a place for a new transport of `client`, or says which limit is reached.
    fn take(&mut self, client: IpAddr, options: &LongPollOptions) -> Result<(), String> {
        let mine = self.by_client.get(&client).copied().unwrap_or(0);
        if self.total >= options.max_transports {
            return Err(format!(
                "this long-poll path has max_transports ({}) transports open; try again later",
                options.max_transports
            ));
        }
        if mine >= options.max_transports_per_ip {
            return Err(format!(
                "{client} has max_transports_per_ip ({}) long-poll transports open; close one first",
                options.max_transports_per_ip
            ));
        }
        self.total += 1;
        *self.by_client.entry(client).or_default() += 1;
        Ok(())
    }

    /// A transport of `client` has ended.
    fn give_back(&mut self, client: IpAddr) {
        self.total = self.total.saturating_sub(1);
        if let Some(count) = self.by_client.get_mut(&client) {
            *count -= 1;
            if *count == 0 {
                self.by_client.remove(&client);
            }
        }
    }
}

impl LongPollPath {
    pub fn new(
        path: &str,
        service: &LongPollService,
        router: &Arc<Router>,
    ) -> Result<LongPollPath, String> {
        let mut authenticator = Authenticator::new(&service.auth)
            .with_failed_login_limit(service.options.max_failed_logins);
        if let Some(cookie) = &service.cookie {
            authenticator = authenticator.with_cookie_jar(CookieJar::open(cookie)?);
        }
        Ok(LongPollPath {
            prefix: path.trim_end_matches('/').to_string(),
            service: service.clone(),
            router: Arc::clone(router),
            authenticator: Arc::new(authenticator),
            transports: Arc::default(),
            places: Arc::default(),
        })
    }

    /// Answers a request below this path; `client` is the address `max_transports_per_ip`
    /// counts (the socket's, or the one a trusted proxy forwarded).
    pub async fn handle(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        client: IpAddr,
    ) -> HttpResponse {
        let (head, body) = req.into_parts();
        // Any origin, as Crossbar: the transport id is what gives access to a session.
        let origin = head.headers.get(header::ORIGIN).cloned();
        let origin = origin.as_ref();
        if head.method == Method::OPTIONS {
            return bridge::refuse(body, response::options(ALLOW, origin)).await;
        }
        if head.method != Method::POST {
            return bridge::refuse(body, response::method_not_allowed(ALLOW, origin)).await;
        }
        let rest = head.uri.path()[self.prefix.len()..].trim_matches('/');
        let (id, operation) = match rest.split_once('/') {
            Some((id, operation)) => (id, operation),
            None if rest == "open" => {
                return self.open(body, &head.headers, peer, client, origin).await;
            }
            None => ("", rest),
        };
        let transport = self.transports.lock().get(id).cloned();
        let Some(transport) = transport.filter(|_| !id.is_empty()) else {
            let message = format!(
                "no long-poll transport \"{}\"",
                crate::log_text::peer_text(id)
            );
            return bridge::refuse(
                body,
                response::error(StatusCode::NOT_FOUND, &message, origin),
            )
            .await;
        };
        match operation {
            "send" => self.send(&transport, body, origin).await,
            "receive" => receive(&transport, body, origin).await,
            "close" => {
                let _ = bridge::read_body(body, 0).await;
                if !transport.ended() {
                    transport.close().await;
                }
                empty(StatusCode::NO_CONTENT, origin)
            }
            _ => {
                let message = "expected open, <transport>/send, <transport>/receive or \
                               <transport>/close";
                bridge::refuse(
                    body,
                    response::error(StatusCode::NOT_FOUND, message, origin),
                )
                .await
            }
        }
    }

    async fn open(
        &self,
        body: Incoming,
        headers: &hyper::HeaderMap,
        peer: SocketAddr,
        client: IpAddr,
        origin: Option<&HeaderValue>,
    ) -> HttpResponse {
        let body = match read(body, OPEN_BODY_LIMIT, origin).await {
            Ok(body) => body,
            Err(refused) => return refused,
        };
        let subprotocol = match self.choose(&body) {
            Ok(subprotocol) => subprotocol,
            Err(message) => return response::error(StatusCode::BAD_REQUEST, &message, origin),
        };
        if let Err(message) = self.places.lock().take(client, &self.service.options) {
            return response::error(StatusCode::SERVICE_UNAVAILABLE, &message, origin);
        }
        let id = match &self.service.options.debug_transport_id {
            Some(id) => id.clone(),
            None => new_transport_id(),
        };
        // Cookie tracking: the cookie of the `open` request, or a new one set on its answer.
        let tracking = self.authenticator.cookie_jar().and_then(|jar| {
            let cookies = headers.get_all(header::COOKIE).into_iter();
            jar.track(cookies.filter_map(|v| v.to_str().ok()))
        });
        let (cookie, set_cookie) = match tracking {
            Some(t) => (Some(t.cookie), t.set_cookie),
            None => (None, None),
        };
        let setup = Setup {
            router: Arc::clone(&self.router),
            authenticator: Arc::clone(&self.authenticator),
            options: self.service.options.clone(),
            subprotocol,
            peer,
            cookie,
        };
        let table = Arc::clone(&self.transports);
        let places = Arc::clone(&self.places);
        let key = id.clone();
        let transport = Transport::open(setup, move || {
            places.lock().give_back(client);
            // Kept a while so a late `close` succeeds, then forgotten (unless the id was
            // opened again meanwhile).
            tokio::spawn(async move {
                tokio::time::sleep(LINGER).await;
                let mut table = table.lock();
                if table.get(&key).is_some_and(|t| t.ended()) {
                    table.remove(&key);
                }
            });
        });
        if let Some(old) = self.transports.lock().insert(id.clone(), transport) {
            old.replace();
        }
        let answer = json!({"transport": id, "protocol": subprotocol.name()});
        let mut response = response::json(StatusCode::OK, &answer, origin);
        if let Some(value) = set_cookie.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        response
    }

    /// The first protocol of the client's `protocols` this path serves.
    fn choose(&self, body: &[u8]) -> Result<Subprotocol, String> {
        let request: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| format!("the open request body is not JSON: {e}"))?;
        let Some(protocols) = request.get("protocols").and_then(|p| p.as_array()) else {
            return Err("the open request needs \"protocols\": [\"wamp.2.json\", ...]".into());
        };
        let served = |s: &Subprotocol| {
            self.service
                .serializers
                .iter()
                .any(|name| name.serialization() == s.serialization)
        };
        protocols
            .iter()
            .filter_map(|p| p.as_str().and_then(Subprotocol::parse))
            .find(served)
            .ok_or_else(|| {
                let names: Vec<String> = self
                    .service
                    .serializers
                    .iter()
                    .map(|s| format!("wamp.2.{}", s.as_str()))
                    .collect();
                format!(
                    "no common protocol (this path speaks {}, each also .batched)",
                    names.join(", ")
                )
            })
    }

    async fn send(
        &self,
        transport: &Transport,
        body: Incoming,
        origin: Option<&HeaderValue>,
    ) -> HttpResponse {
        let _request = transport.request();
        let body = match read(body, self.service.options.max_message_size, origin).await {
            Ok(body) => body,
            Err(refused) => return refused,
        };
        match transport.send(body).await {
            Sent::Accepted => empty(StatusCode::NO_CONTENT, origin),
            Sent::Refused(message) => response::error(StatusCode::BAD_REQUEST, &message, origin),
            Sent::Gone => closed(origin),
        }
    }
}

async fn receive(
    transport: &Transport,
    body: Incoming,
    origin: Option<&HeaderValue>,
) -> HttpResponse {
    let _request = transport.request();
    let _ = bridge::read_body(body, 0).await;
    match transport.receive().await {
        Some(body) if body.is_empty() => empty(StatusCode::NO_CONTENT, origin),
        Some(body) => {
            let mut response = empty(StatusCode::OK, origin);
            let content_type = match transport.subprotocol.serialization {
                Serialization::Json => "application/json; charset=utf-8",
                Serialization::MsgPack => "application/x-msgpack",
                Serialization::Cbor => "application/cbor",
            };
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            let (parts, _) = response.into_parts();
            Response::from_parts(parts, response::full(body))
        }
        None => closed(origin),
    }
}

/// The body, or the answer refusing it.
async fn read(
    body: Incoming,
    limit: usize,
    origin: Option<&HeaderValue>,
) -> Result<Bytes, HttpResponse> {
    match bridge::read_body(body, limit).await {
        BodyRead::Complete(body) => Ok(body),
        BodyRead::TooLarge { drained } => {
            let message = format!("request body larger than {limit} bytes");
            let too_large = response::error(StatusCode::PAYLOAD_TOO_LARGE, &message, origin);
            Err(bridge::keep_alive(too_large, drained))
        }
        BodyRead::Failed(status, message) => Err(bridge::keep_alive(
            response::error(status, &message, origin),
            false,
        )),
    }
}

/// A response with no body and the standard headers (no caching, CORS).
fn empty(status: StatusCode, origin: Option<&HeaderValue>) -> HttpResponse {
    let mut response = response::text(status, "", origin);
    response.headers_mut().remove(header::CONTENT_TYPE);
    response
}

fn closed(origin: Option<&HeaderValue>) -> HttpResponse {
    response::error(
        StatusCode::NOT_FOUND,
        "the long-poll transport is closed",
        origin,
    )
}

/// 128 random bits: the id is all a client needs to act as the session.
fn new_transport_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}
