//! Turning an HTTP request into a WebSocket: checks, the 101 answer, and handing the upgraded
//! connection to a WAMP session or to the testee echo (and the 101 of a relayed one).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tracing::debug;

use crate::config::{WebSocketOptions, WebSocketService};
use crate::http::response::{self, HttpResponse};
use crate::router::Router;
use crate::router::auth::Authenticator;
use crate::router::auth::cookie::TrackedCookie;
use crate::router::client_cert::ClientCert;
use crate::router::session_table::HttpDetails;
use crate::transport::websocket::handshake::{self, Refused};
use crate::transport::websocket::{self, testee};
use crate::wamp::serializer::{Serialization, Subprotocol};
use crate::wamp::value::{Dict, Value};

/// Answers a WAMP-over-WebSocket upgrade and runs the session once upgraded.
pub fn wamp(
    router: &Arc<Router>,
    service: &WebSocketService,
    authenticator: &Arc<Authenticator>,
    peer: SocketAddr,
    mut req: Request<Incoming>,
) -> Result<HttpResponse, Refused> {
    let accept = match handshake::accept_key(&req) {
        Ok(accept) => accept,
        Err(_) if service.options.status_page && is_plain_get(&req) => {
            return Ok(status_page(service));
        }
        Err(refused) => return Err(refused),
    };
    handshake::check_origin(req.headers(), &service.options)?;
    let offered = handshake::choose_subprotocol(
        req.headers(),
        &service.serializers,
        service.options.require_subprotocol,
    )?;
    let subprotocol = offered.unwrap_or(Subprotocol {
        serialization: Serialization::Json,
        batched: false,
    });
    let (cookie, set_cookie, http) = http_details(&req, authenticator);
    let client_cert = req.extensions().get::<Arc<ClientCert>>().cloned();
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (router, authenticator, options) = (
        Arc::clone(router),
        Arc::clone(authenticator),
        service.options.clone(),
    );
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let config = websocket::ws_config(&options);
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                debug!(
                    %peer,
                    transport = "websocket",
                    serialization = subprotocol.serialization.name(),
                    "WAMP WebSocket open ({})",
                    subprotocol.name()
                );
                let opened = websocket::Opened {
                    peer,
                    cookie,
                    http,
                    client_cert,
                };
                websocket::serve(ws, subprotocol, router, authenticator, options, opened).await;
            }
            Err(e) => debug!(%peer, error = %e, "WebSocket upgrade failed"),
        }
    });
    let mut response =
        switching_protocols(&accept, offered.map(|s| HeaderValue::from_static(s.name())));
    if let Some(value) = set_cookie.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The connection's tracking cookie (and the `Set-Cookie` of a new one) on a cookie-tracked
/// path, and the request's headers when a dynamic authenticator may ask for them.
fn http_details(
    req: &Request<Incoming>,
    authenticator: &Authenticator,
) -> (
    Option<TrackedCookie>,
    Option<String>,
    Option<Box<HttpDetails>>,
) {
    let tracking = authenticator.cookie_jar().and_then(|jar| {
        let cookies = req.headers().get_all(header::COOKIE).into_iter();
        jar.track(cookies.filter_map(|v| v.to_str().ok()))
    });
    let (cookie, value, set_cookie) = match tracking {
        Some(t) => (Some(t.cookie), Some(t.value), t.set_cookie),
        None => (None, None, None),
    };
    // Built only for dynamic authenticators: every other connection skips the copy.
    let http = authenticator.has_dynamic().then(|| {
        let mut headers = Dict::new();
        for (name, value) in req.headers() {
            let value = String::from_utf8_lossy(value.as_bytes());
            match headers.get_mut(name.as_str()) {
                Some(Value::String(joined)) => {
                    joined.push_str(", ");
                    joined.push_str(&value);
                }
                _ => {
                    headers.insert(name.as_str().into(), Value::from(value.as_ref()));
                }
            }
        }
        Box::new(HttpDetails {
            headers,
            cbtid: value,
        })
    });
    (cookie, set_cookie, http)
}

/// Answers an upgrade to the `websocket-testee` echo.
pub fn testee(
    options: &WebSocketOptions,
    mut req: Request<Incoming>,
) -> Result<HttpResponse, Refused> {
    let accept = handshake::accept_key(&req)?;
    handshake::check_origin(req.headers(), options)?;
    let on_upgrade = hyper::upgrade::on(&mut req);
    let config = websocket::ws_config(options);
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let ws = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            testee::serve(ws).await;
        }
    });
    Ok(switching_protocols(&accept, None))
}

/// A GET or HEAD without `Upgrade`: a browser or a curl looking at the WebSocket URL.
fn is_plain_get<B>(req: &Request<B>) -> bool {
    (req.method() == hyper::Method::GET || req.method() == hyper::Method::HEAD)
        && !req.headers().contains_key(header::UPGRADE)
}

/// Crossbar's `enable_webstatus`: a page saying this is a WAMP WebSocket endpoint and which
/// subprotocols it speaks (no version, no realm names: it is public).
fn status_page(service: &WebSocketService) -> HttpResponse {
    let subprotocols: Vec<String> = service
        .serializers
        .iter()
        .map(|s| format!("wamp.2.{}", s.as_str()))
        .collect();
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>WAMP WebSocket endpoint\
         </title></head><body><h1>WAMP WebSocket endpoint</h1><p>This is a WAMP router's \
         WebSocket endpoint (Junction). Connect with a WAMP client, such as autobahn.js, \
         using one of the subprotocols: {}.</p></body></html>\n",
        subprotocols.join(", ")
    );
    let mut response = Response::new(response::full(Bytes::from(page)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The 101 answer, with the subprotocol chosen (if any).
pub(super) fn switching_protocols(accept: &str, subprotocol: Option<HeaderValue>) -> HttpResponse {
    let mut response = Response::new(response::full(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(value) = HeaderValue::from_str(accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    if let Some(name) = subprotocol {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, name);
    }
    response
}
