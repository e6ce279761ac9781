//! The HTTP side of a listener: maps a request path to the service configured there and
//! answers it. WebSocket paths are upgraded here and handed to the WAMP session or the testee.
//! Errors are JSON bodies `{"error", "args", "kwargs"}` with a status that says what is wrong.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tracing::debug;

use crate::config::{PathService, TransportKind, WebSocketOptions, WebSocketService};
use crate::router::Router;
use crate::router::auth::Authenticator;
use crate::transport::handshake::{self, Refused};
use crate::transport::{testee, websocket};
use crate::wamp::serializer::{Serialization, Subprotocol};

/// A path's service, prepared once at start.
enum Service {
    Wamp {
        service: WebSocketService,
        authenticator: Arc<Authenticator>,
    },
    Testee(WebSocketOptions),
}

/// Everything a listener needs to answer requests.
pub struct Services {
    router: Arc<Router>,
    /// For `"type": "websocket"` transports: one service on every path.
    any_path: Option<Service>,
    paths: BTreeMap<String, Service>,
}

impl Services {
    pub fn new(router: Arc<Router>, kind: &TransportKind) -> Services {
        let wamp = |service: &WebSocketService| Service::Wamp {
            service: service.clone(),
            authenticator: Arc::new(Authenticator::new(&service.auth)),
        };
        match kind {
            TransportKind::WebSocket(service) => Services {
                router,
                any_path: Some(wamp(service)),
                paths: BTreeMap::new(),
            },
            TransportKind::Web { paths } => {
                let paths = paths
                    .iter()
                    .map(|(path, service)| {
                        let service = match service {
                            PathService::WebSocket(s) => wamp(s),
                            PathService::WebSocketTestee(options) => {
                                Service::Testee(options.clone())
                            }
                        };
                        (path.clone(), service)
                    })
                    .collect();
                Services {
                    router,
                    any_path: None,
                    paths,
                }
            }
        }
    }

    fn lookup(&self, path: &str) -> Option<&Service> {
        if let Some(service) = &self.any_path {
            return Some(service);
        }
        // Crossbar serves "/ws" and "/ws/" alike.
        let trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        self.paths.get(trimmed)
    }
}

pub async fn handle(
    services: Arc<Services>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some(service) = services.lookup(req.uri().path()) else {
        let message = format!("no service at {}", req.uri().path());
        return Ok(json_error(StatusCode::NOT_FOUND, &message));
    };
    let response = match service {
        Service::Wamp {
            service,
            authenticator,
        } => upgrade_wamp(&services, service, authenticator, peer, req),
        Service::Testee(options) => upgrade_testee(options, req),
    };
    Ok(response.unwrap_or_else(|refused| json_error(refused.status, &refused.message)))
}

fn upgrade_wamp(
    services: &Services,
    service: &WebSocketService,
    authenticator: &Arc<Authenticator>,
    peer: SocketAddr,
    mut req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Refused> {
    let accept = handshake::accept_key(&req)?;
    handshake::check_origin(req.headers(), &service.options)?;
    let offered = handshake::choose_subprotocol(req.headers(), &service.serializers)?;
    let subprotocol = offered.unwrap_or(Subprotocol {
        serialization: Serialization::Json,
        batched: false,
    });
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (router, authenticator, options) = (
        Arc::clone(&services.router),
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
    Ok(switching_protocols(&accept, offered.map(Subprotocol::name)))
}

fn upgrade_testee(
    options: &WebSocketOptions,
    mut req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Refused> {
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

fn switching_protocols(accept: &str, subprotocol: Option<&'static str>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(value) = HeaderValue::from_str(accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    if let Some(name) = subprotocol {
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(name),
        );
    }
    response
}

/// An error response with a JSON body in the HTTP bridge's shape.
pub fn json_error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"error": message, "args": [], "kwargs": {}}).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}
