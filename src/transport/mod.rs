//! Doors into the router: TCP (and TLS) and Unix listeners, the WebSocket upgrade, WAMP over
//! WebSocket and over RawSocket, and telling them apart on a `universal` port.

pub mod admission;
pub mod connection;
pub mod handshake;
pub mod http_connection;
pub mod listener;
pub mod rawsocket;
pub mod sniff;
pub mod testee;
pub mod upgrade;
pub mod websocket;
