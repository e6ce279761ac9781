//! A `websocket-reverseproxy` path: a client's WebSocket upgrade is answered only once the
//! backend has accepted one. The backend is offered the client's subprotocols and its choice
//! is the one answered to the client; a backend that cannot be reached or refuses gets the
//! client a 502 (504 past the endpoint's `timeout`) with a JSON body naming its `host:port`,
//! before any upgrade. Then [`relay`](super::relay) copies messages both ways.
//!
//! The backend handshake is made with hyper's client rather than tungstenite's: tungstenite
//! fails a connection whose server picks no subprotocol when the client offered some, which
//! RFC 6455 allows (and a client offering `wamp.2.json` to a plain echo server does).

use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tracing::{debug, warn};

use crate::config::{WebSocketBackend, WebSocketProxyService};
use crate::http::forwarded::Forwarding;
use crate::http::response::HttpResponse;
use crate::log_throttle::{Throttle, and_more};
use crate::transport::websocket::handshake::{self, Refused};
use crate::transport::websocket::upgrade::switching_protocols;
use crate::transport::websocket::{relay, ws_config};

/// Backend failures, logged at most once a second.
static BACKEND_FAILED: Throttle = Throttle::new();

/// A backend WebSocket, open, with the subprotocol it chose.
type Backend = (
    WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
    Option<HeaderValue>,
);

/// Answers a client's upgrade at a `websocket-reverseproxy` path, once the backend accepted.
pub async fn serve(
    service: &WebSocketProxyService,
    from: Forwarding<'_>,
    mut req: Request<Incoming>,
) -> Result<HttpResponse, Refused> {
    let accept = handshake::accept_key(&req)?;
    handshake::check_origin(req.headers(), &service.options)?;
    let backend = &service.backend;
    let opened = tokio::time::timeout(backend.timeout, open(backend, from, req.headers())).await;
    let (backend_ws, subprotocol) = match opened {
        Ok(Ok(open)) => open,
        Ok(Err(why)) => return Err(failed(backend, StatusCode::BAD_GATEWAY, why)),
        Err(_) => {
            let why = format!(
                "gave no WebSocket within the endpoint's timeout ({} s)",
                backend.timeout.as_secs()
            );
            return Err(failed(backend, StatusCode::GATEWAY_TIMEOUT, why));
        }
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let client_config = ws_config(&service.options);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let client = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(client_config),
                )
                .await;
                relay::run(client, backend_ws).await;
            }
            Err(e) => debug!(error = %e, "WebSocket upgrade failed"),
        }
    });
    Ok(switching_protocols(&accept, subprotocol))
}

/// Connects to the backend and makes its WebSocket handshake, offering the subprotocols of
/// the client's request (`client`: its headers).
async fn open(
    backend: &WebSocketBackend,
    from: Forwarding<'_>,
    client: &HeaderMap,
) -> Result<Backend, String> {
    let url = url::Url::parse(&backend.url).map_err(|e| format!("has a bad url: {e}"))?;
    let stream = TcpStream::connect((backend.host.as_str(), backend.port))
        .await
        .map_err(|e| format!("is not reachable: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("failed at the HTTP level: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            debug!(error = %e, "backend WebSocket handshake connection ended");
        }
    });
    let key = generate_key();
    let request = handshake_request(&url, &key, from, client)?;
    let mut response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("gave no answer to the WebSocket handshake: {e}"))?;
    let headers = response.headers();
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(format!(
            "refused the WebSocket handshake with status {}",
            response.status().as_u16()
        ));
    }
    let expected = derive_accept_key(key.as_bytes());
    if headers
        .get(header::SEC_WEBSOCKET_ACCEPT)
        .map(HeaderValue::as_bytes)
        != Some(expected.as_bytes())
    {
        return Err("answered the WebSocket handshake with a wrong Sec-WebSocket-Accept".into());
    }
    let chosen = headers.get(header::SEC_WEBSOCKET_PROTOCOL).cloned();
    if let Some(chosen) = &chosen
        && !offered(client).any(|name| name.as_bytes() == chosen.as_bytes())
    {
        return Err("chose a subprotocol the client did not offer".into());
    }
    let upgraded = hyper::upgrade::on(&mut response)
        .await
        .map_err(|e| format!("failed in the WebSocket upgrade: {e}"))?;
    let ws = WebSocketStream::from_raw_socket(
        TokioIo::new(upgraded),
        Role::Client,
        Some(ws_config(&backend.options)),
    )
    .await;
    Ok((ws, chosen))
}

/// `GET` of the backend `url` with the WebSocket headers, the client's subprotocols and the
/// forwarded headers.
fn handshake_request(
    url: &url::Url,
    key: &str,
    from: Forwarding<'_>,
    client: &HeaderMap,
) -> Result<Request<http_body_util::Empty<bytes::Bytes>>, String> {
    let mut target = url.path().to_string();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => return Err("has a url that names no host".into()),
    };
    // The forwarded headers from the client's own, as for a `reverseproxy` path.
    let mut forwarded = HeaderMap::new();
    for (name, value) in client {
        let name_text = name.as_str();
        if name == header::HOST || name_text.starts_with("x-forwarded-") {
            forwarded.append(name.clone(), value.clone());
        }
    }
    from.apply(&mut forwarded);
    forwarded.remove(header::HOST);
    let mut request = Request::get(target)
        .header(header::HOST, host)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_VERSION, "13")
        .header(header::SEC_WEBSOCKET_KEY, key)
        .body(http_body_util::Empty::new())
        .map_err(|e| format!("has a bad url: {e}"))?;
    let headers = request.headers_mut();
    headers.extend(forwarded);
    for value in client.get_all(header::SEC_WEBSOCKET_PROTOCOL) {
        headers.append(header::SEC_WEBSOCKET_PROTOCOL, value.clone());
    }
    Ok(request)
}

/// The subprotocol names the client offered.
fn offered(client: &HeaderMap) -> impl Iterator<Item = &str> {
    client
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

fn failed(backend: &WebSocketBackend, status: StatusCode, why: String) -> Refused {
    let message = format!("WebSocket backend {} {why}", backend.authority());
    if let Some(suppressed) = BACKEND_FAILED.admit() {
        warn!(error = %message, "websocket-reverseproxy failed{}", and_more(suppressed));
    }
    Refused { status, message }
}
