//! Doors into the router: TCP listeners serving HTTP, upgraded to WebSocket for WAMP sessions.

pub mod handshake;
pub mod http;
pub mod listener;
pub mod testee;
pub mod websocket;
