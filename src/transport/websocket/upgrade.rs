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
use crate::router::client_cert::ClientCert;
use crate::transport::websocket::handshake::{self, Refused};
use crate::transport::websocket::{self, testee};
use crate::wamp::serializer::{Serialization, Subprotocol};

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
                debug!(%peer, subprotocol = subprotocol.name(), "WAMP WebSocket open");
                let serving = websocket::serve(
                    ws,
                    subprotocol,
                    router,
                    authenticator,
                    options,
                    peer,
                    client_cert,
                );
                serving.await;
            }
            Err(e) => debug!(%peer, "WebSocket upgrade failed: {e}"),
        }
    });
    Ok(switching_protocols(
        &accept,
        offered.map(|s| HeaderValue::from_static(s.name())),
    ))
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
