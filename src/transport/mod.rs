//! Doors into the router: TCP (and TLS) listeners, the WebSocket upgrade, WAMP over WebSocket.

pub mod handshake;
pub mod listener;
pub mod testee;
pub mod upgrade;
pub mod websocket;
