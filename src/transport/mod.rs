//! Doors into the router: TCP (and TLS) and Unix listeners, admission of connections, the
//! path table of web transports (which hands requests to WAMP over WebSocket or to the HTTP
//! services of `http`), WAMP over WebSocket and over RawSocket, and telling them apart on a
//! `universal` port.

pub mod admission;
pub mod connection;
pub mod http_connection;
pub mod listener;
pub mod longpoll;
pub mod path_table;
pub mod rawsocket;
pub mod sniff;
pub mod tls;
pub mod websocket;
