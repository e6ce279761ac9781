//! Reverse proxy paths as configured: `reverseproxy` (HTTP requests forwarded to a backend web
//! server) and `websocket-reverseproxy` (WebSocket connections relayed to a backend WebSocket
//! server).

use std::time::Duration;

use super::WebSocketOptions;

/// `{"type": "reverseproxy", "host", "port", "path", "forwarded_port", "forwarded_proto",
/// "options": {"connect_timeout", "response_timeout"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReverseProxyService {
    /// `host`: a name or an IP address (IPv6 without brackets).
    pub host: String,
    /// `port`, default 80 (as Crossbar).
    pub port: u16,
    /// `path`: the backend path that the path below this one is appended to, without its
    /// trailing `/` (`""` for the backend's root, the default).
    pub path: String,
    /// `forwarded_port`: sent as `X-Forwarded-Port` (default: the port the client asked for).
    pub forwarded_port: Option<u16>,
    /// `forwarded_proto`: `http` or `https`, sent as `X-Forwarded-Proto` (default: how the
    /// client reached Junction, through trusted proxies).
    pub forwarded_proto: Option<String>,
    /// Junction: `options.connect_timeout` (ms in the file), default 5 s.
    pub connect_timeout: Duration,
    /// Junction: `options.response_timeout` (ms in the file), default 60 s: from sending the
    /// request to the backend's response headers.
    pub response_timeout: Duration,
}

impl ReverseProxyService {
    /// `host:port`, IPv6 in brackets: the backend's authority, what errors name.
    pub fn authority(&self) -> String {
        authority(&self.host, self.port)
    }
}

/// `{"type": "websocket-reverseproxy", "options", "backend": {"type": "websocket",
/// "endpoint": {"type": "tcp", "host", "port", "timeout"}, "url", "options"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSocketProxyService {
    /// `options` of the connection with the client (message and frame sizes, origins).
    pub options: WebSocketOptions,
    pub backend: WebSocketBackend,
}

/// The `backend` of a `websocket-reverseproxy` path.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSocketBackend {
    /// `endpoint.host`: connected to.
    pub host: String,
    /// `endpoint.port`.
    pub port: u16,
    /// `endpoint.timeout` (seconds in the file, as Crossbar's connecting endpoints), default
    /// 10 s: for the TCP connection and the backend's WebSocket handshake.
    pub timeout: Duration,
    /// `url` (`ws://host:port/path`): its host is the `Host` sent, its path and query the
    /// request's target.
    pub url: String,
    /// `options` of the connection with the backend (message and frame sizes).
    pub options: WebSocketOptions,
}

impl WebSocketBackend {
    /// `host:port` of the endpoint, IPv6 in brackets.
    pub fn authority(&self) -> String {
        authority(&self.host, self.port)
    }
}

fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
