//! The names of the fields log events carry, one vocabulary for every event, so a log shipper
//! (`JUNCTION_LOG_FORMAT=json`: each field a top-level member of the line's object) filters on
//! `realm` or `peer` whatever the line says, and the text format shows the same names as
//! `key=value` after the message. A value a field names is a field, not part of the message
//! text; the message stays a readable sentence.
//!
//! | field | type | what |
//! |---|---|---|
//! | `session` | number | the WAMP session id |
//! | `realm` | string | the realm's name |
//! | `authid`, `authrole`, `authmethod` | string | who a session is (or claims to be, on a failed login: `authmethod` then lists the methods the client offered, when HELLO is refused before a method was tried) |
//! | `peer` | string | the client's address, `ip:port` (on a Unix socket `unix peer on <transport>`; for HTTP requests through trusted proxies, the forwarded client's `ip` alone) |
//! | `transport` | string | the kind of WAMP connection: `websocket`, `rawsocket`, `longpoll` |
//! | `serialization` | string | what a WAMP connection speaks: `json`, `msgpack` or `cbor` |
//! | `path` | string | the HTTP path of a request or of a configured web path (`/push`) |
//! | `status` | number | the HTTP status answered |
//! | `duration_ms` | number | how long the request took, in milliseconds |
//! | `topic` | string | a PubSub topic (or an http-poller topic's name) |
//! | `procedure` | string | an RPC procedure |
//! | `reason` | string | a WAMP reason or error URI (`wamp.error.not_authorized`) |
//! | `error` | string | what went wrong, as text |
//! | `code` | number | a code that is not an HTTP status: a WebSocket close code, a poller's error code |
//! | `count` | number | how many (writes lost, registrations restored, ...) |
//! | `url` | string | an upstream URL (secrets in it redacted) |
//! | `file` | string | a file on this machine (a store, an archive) |
//! | `node` | string | a cluster node's name |
//! | `guest` | string | a guest worker's id |
//!
//! Peer-chosen text (authid, realm, URIs, messages) goes through [`crate::log_text`] first.
//! `tests/it/log_fields.rs` reads every `tracing` event of `src/` and fails on a field name not
//! in [`FIELDS`], so a new line cannot invent `peer_addr` or `remote`; README.md ("Logs") lists
//! the same names.

/// `peer` as logs show it: the session meta API's `tcp4:1.2.3.4:5678` (or `tcp6:::1:5678`) as
/// the socket address it is (`1.2.3.4:5678`, `[::1]:5678`); anything else unchanged.
pub fn peer(meta_peer: &str) -> std::borrow::Cow<'_, str> {
    if let Some(v4) = meta_peer.strip_prefix("tcp4:") {
        return v4.into();
    }
    match meta_peer
        .strip_prefix("tcp6:")
        .and_then(|v6| v6.rsplit_once(':'))
    {
        Some((ip, port)) => format!("[{ip}]:{port}").into(),
        None => meta_peer.into(),
    }
}

/// Every field name a log event of Junction may carry (see the module comment).
pub const FIELDS: &[&str] = &[
    "session",
    "realm",
    "authid",
    "authrole",
    "authmethod",
    "peer",
    "transport",
    "serialization",
    "path",
    "status",
    "duration_ms",
    "topic",
    "procedure",
    "reason",
    "error",
    "code",
    "count",
    "url",
    "file",
    "node",
    "guest",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_socket_addresses() {
        assert_eq!(peer("tcp4:127.0.0.1:5678"), "127.0.0.1:5678");
        assert_eq!(peer("tcp6:::1:5678"), "[::1]:5678");
        assert_eq!(peer("unix peer on x"), "unix peer on x");
    }
}
