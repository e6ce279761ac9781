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
    let accept = handshake::accept_key(&req)?;
    handshake::check_origin(req.headers(), &service.options)?;
    let offered = handshake::choose_subprotocol(req.headers(), &service.serializers)?;
    let subprotocol = offered.unwrap_or(Subprotocol {
        serialization: Serialization::Json,
        batched: false,
    });
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
                websocket::serve(ws, subprotocol, router, authenticator, options, peer).await;
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
