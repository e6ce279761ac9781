//! `{"type": "sse", "realm", "role", ...}`: events of a realm as Server-Sent Events
//! (`src/config/sse_path.rs` reads it).

use std::time::Duration;

/// What the `event:` line of each SSE event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseEventName {
    /// No `event:` line: the browser's `onmessage` gets every event (the default).
    Message,
    /// The event's topic (`"event": "topic"`), for `addEventListener(topic, ...)`.
    Topic,
    /// This fixed name.
    Fixed(String),
}

/// An SSE path.
#[derive(Debug, Clone)]
pub struct SseService {
    pub realm: String,
    /// The role its subscriptions are made and authorized as.
    pub role: String,
    pub event: SseEventName,
    /// A comment line this often keeps proxies from closing an idle stream.
    pub heartbeat: Duration,
    /// The `retry:` hint: how long a browser waits before reconnecting, in milliseconds.
    pub retry_ms: u64,
    /// Events waiting for one slow reader before it is dropped.
    pub queue: usize,
    /// `auth.ticket`: a stream needs a ticket, checked like a WAMP ticket login; the
    /// principal's role replaces `role`. `None`: anyone may open a stream as `role`.
    pub ticket: Option<crate::config::TicketAuth>,
    /// `require_ip`: the networks clients may connect from.
    pub require_ip: Option<Vec<ipnet::IpNet>>,
}

pub const DEFAULT_SSE_HEARTBEAT: Duration = Duration::from_secs(15);
pub const DEFAULT_SSE_RETRY_MS: u64 = 3000;
pub const DEFAULT_SSE_QUEUE: usize = 1000;
