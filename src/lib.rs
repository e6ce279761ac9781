//! Junction: a WAMP v2 router with an HTTP bridge.
//!
//! Layers, each importing only the ones below it (`tests/it/layering.rs` checks it; the map
//! is ARCHITECTURE.md):
//! - `guest`: guest workers, the programs `junction start` runs beside the router.
//! - `transport`: the doors. Listeners, admission, the web path table, WAMP over WebSocket
//!   and RawSocket.
//! - `http`: the HTTP services a path can hold (pusher, caller, webhook, topics API).
//! - `http_peer`: HTTP peers of a realm (subscribers that forward events to a URL), run as
//!   internal sessions.
//! - `cluster`: several nodes as one router over NATS (a realm's `Backplane`).
//! - `poller`: http-poller topics, publishing through the router like a session.
//! - `router`: realms, sessions, broker, dealer, authentication and authorization, meta API,
//!   event history.
//! - `store`: persistence (embedded redb file or memory).
//! - `config`: `config.json`, read and checked once at start.
//! - `wamp` (messages, serializers, URIs, values), `log_fields`, `log_text`, `log_throttle`,
//!   `backoff`, `stats`:
//!   vocabulary every layer uses.

pub mod backoff;
pub mod cluster;
pub mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod guest;
pub mod http;
pub mod http_peer;
pub mod log_fields;
pub mod log_text;
pub mod log_throttle;
pub mod poller;
pub mod router;
pub mod stats;
pub mod store;
pub mod transport;
pub mod wamp;
