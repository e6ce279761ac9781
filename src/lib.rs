//! Junction: a WAMP v2 router with an HTTP bridge.
//!
//! Layers, dependencies pointing down: `transport` (doors) -> `router` (realms, sessions,
//! broker, dealer, auth) -> `wamp` (protocol only). `config` is read once at start.

pub mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod log_text;
pub mod log_throttle;
pub mod poller;
pub mod router;
pub mod store;
pub mod transport;
pub mod wamp;
