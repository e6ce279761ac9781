//! RawSocket services: a `rawsocket` transport, or the `rawsocket` part of a `universal` one.
//!
//! Crossbar's keys: `serializers`, `auth` and `max_message_size` (top level, as Crossbar
//! writes it). Junction adds `options` with WebSocket's names: `max_message_size` (the same
//! value, for symmetry with WebSocket; only one of the two places may say it),
//! `auto_ping_interval`, `auto_ping_timeout`, `auto_ping_size`, `open_handshake_timeout`,
//! `max_outbound_queue`, `max_outbound_bytes`, `join_timeout`, `max_failed_logins`.

use std::time::Duration;

use crate::config::auth;
use crate::config::loader::Loader;
use crate::config::model::{RawSocketOptions, RawSocketService};
use crate::config::node::{Node, Obj, Result};
use crate::config::websocket::{
    DEFAULT_JOIN_TIMEOUT, DEFAULT_MAX_FAILED_LOGINS, DEFAULT_MAX_OUTBOUND_BYTES, load_serializers,
    load_shared_options, size,
};

/// The RawSocket options Junction reads.
const RAWSOCKET_OPTIONS: &[&str] = &[
    "max_message_size",
    "auto_ping_interval",
    "auto_ping_timeout",
    "auto_ping_size",
    "open_handshake_timeout",
    "max_outbound_queue",
    "max_outbound_bytes",
    "join_timeout",
    "max_failed_logins",
];

/// Options of a RawSocket service that has none in the file.
pub fn default_rawsocket_options() -> RawSocketOptions {
    RawSocketOptions {
        max_message_size: 1 << 20,
        auto_ping_interval: None,
        auto_ping_timeout: None,
        auto_ping_size: 4,
        open_handshake_timeout: Duration::from_secs(10),
        max_outbound_queue: 4096,
        max_outbound_bytes: DEFAULT_MAX_OUTBOUND_BYTES,
        join_timeout: DEFAULT_JOIN_TIMEOUT,
        max_failed_logins: DEFAULT_MAX_FAILED_LOGINS,
    }
}

/// `serializers`, `auth`, `max_message_size` and `options` of a RawSocket service (the
/// caller checked the other keys).
pub(super) fn load_rawsocket_service(obj: &Obj, cx: &mut Loader) -> Result<RawSocketService> {
    // Crossbar's older RawSocket transports name one `serializer` (a string).
    let serializers = match obj.get("serializer") {
        Some(_) if obj.has("serializers") => {
            return Err(obj.key_error(
                "serializer",
                "write either serializer or serializers, not both",
            ));
        }
        Some(one) => {
            one.str()?;
            let list = serde_json::Value::Array(vec![one.value.clone()]);
            load_serializers(Some(&Node::new(&list, &one.path)))?
        }
        None => load_serializers(obj.get("serializers").as_ref())?,
    };
    let auth = auth::load_auth(obj.get("auth").as_ref(), cx)?;
    if auth.cookie {
        return Err(auth::cookie_auth_error(
            obj,
            "cookie auth needs HTTP cookies, which a RawSocket connection does not have",
        ));
    }
    Ok(RawSocketService {
        serializers,
        auth,
        options: load_rawsocket_options(obj, cx)?,
    })
}

fn load_rawsocket_options(service: &Obj, cx: &mut Loader) -> Result<RawSocketOptions> {
    let mut options = default_rawsocket_options();
    let mut max = size(service, "max_message_size")?;
    if let Some(node) = service.get("options") {
        let obj = node.object()?;
        obj.keys(RAWSOCKET_OPTIONS, &[], &mut cx.ignored)?;
        if let Some(inner) = size(&obj, "max_message_size")? {
            if max.is_some() {
                return Err(obj.key_error(
                    "max_message_size",
                    "max_message_size is also given beside options; write it once",
                ));
            }
            max = Some(inner);
        }
        let shared = load_shared_options(&obj)?;
        options.auto_ping_interval = shared.auto_ping_interval;
        options.auto_ping_timeout = shared.auto_ping_timeout;
        options.auto_ping_size = shared.auto_ping_size.unwrap_or(options.auto_ping_size);
        if let Some(timeout) = shared.open_handshake_timeout {
            options.open_handshake_timeout = timeout;
        }
        if let Some(queue) = shared.max_outbound_queue {
            options.max_outbound_queue = queue;
        }
        if let Some(max) = shared.max_outbound_bytes {
            options.max_outbound_bytes = max;
        }
        if let Some(timeout) = shared.join_timeout {
            options.join_timeout = timeout;
        }
        if let Some(max) = shared.max_failed_logins {
            options.max_failed_logins = max;
        }
    }
    if let Some(max) = max {
        options.max_message_size = announceable(max);
    }
    Ok(options)
}

/// The maximum message length a RawSocket handshake can announce for `bytes`: the next power
/// of two (as autobahn and Crossbar round it), held to 2^9..=2^24.
pub fn announceable(bytes: usize) -> usize {
    bytes
        .checked_next_power_of_two()
        .unwrap_or(RawSocketOptions::MAX_MESSAGE_SIZE)
        .clamp(
            RawSocketOptions::MIN_MESSAGE_SIZE,
            RawSocketOptions::MAX_MESSAGE_SIZE,
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SerializerName;
    use crate::config::load::testing::*;
    use crate::config::model::{Endpoint, TransportKind, UnixEndpoint};

    const T: &str = "workers[0].transports[0]";

    /// A rawsocket transport on TCP port 9000 with `fields` (JSON members, may be empty).
    fn rawsocket(fields: &str) -> String {
        let sep = if fields.is_empty() { "" } else { ", " };
        worker(
            REALM1,
            &format!(
                r#"{{"type": "rawsocket", "endpoint": {{"type": "tcp", "port": 9000}}{sep}{fields}}}"#
            ),
        )
    }

    fn service(config: &crate::config::Config) -> &RawSocketService {
        match &config.workers[0].transports[0].kind {
            TransportKind::RawSocket(service) => service,
            other => panic!("expected a rawsocket transport, got {other:?}"),
        }
    }

    fn options(fields: &str) -> RawSocketOptions {
        service(&load(&rawsocket(fields))).options.clone()
    }

    #[test]
    fn defaults() {
        let config = load(&rawsocket(""));
        let service = service(&config);
        assert_eq!(service.serializers, SerializerName::ALL);
        assert_eq!(service.options, default_rawsocket_options());
        assert_eq!(service.options.max_message_size, 1 << 20);
        assert_eq!(service.options.length_exponent(), 11);
        assert_eq!(service.auth.anonymous.as_ref().unwrap().role, "anonymous");
        let tcp = config.workers[0].transports[0].endpoint.tcp().unwrap();
        assert_eq!((tcp.port, tcp.interface.as_str()), (9000, "0.0.0.0"));
    }

    #[test]
    fn max_message_size_is_rounded_and_clamped_to_what_the_handshake_announces() {
        let max = |fields: &str| options(fields).max_message_size;
        // Crossbar's place (top level) and Junction's (options) mean the same.
        assert_eq!(max(r#""max_message_size": 65536"#), 65536);
        assert_eq!(max(r#""options": {"max_message_size": 65536}"#), 65536);
        assert_eq!(max(r#""max_message_size": 1000000"#), 1 << 20);
        assert_eq!(max(r#""max_message_size": 1"#), 512);
        assert_eq!(max(r#""max_message_size": 513"#), 1024);
        assert_eq!(max(r#""max_message_size": 67108864"#), 1 << 24);
        assert_eq!(max(r#""max_message_size": 18446744073709551615"#), 1 << 24);
        let o = options(r#""max_message_size": 512"#);
        assert_eq!(o.length_exponent(), 0);
        let o = options(r#""max_message_size": 16777216"#);
        assert_eq!(o.length_exponent(), 15);
    }

    #[test]
    fn options_are_read() {
        let o = options(
            r#""serializers": ["cbor"], "options": {"auto_ping_interval": 1000, "auto_ping_size": 8,
                "open_handshake_timeout": 2500, "max_outbound_queue": 10,
                "max_outbound_bytes": 4096, "join_timeout": 3000, "max_failed_logins": 0}"#,
        );
        assert_eq!(
            o,
            RawSocketOptions {
                max_message_size: 1 << 20,
                auto_ping_interval: Some(Duration::from_secs(1)),
                auto_ping_timeout: Some(Duration::from_secs(1)),
                auto_ping_size: 8,
                open_handshake_timeout: Duration::from_millis(2500),
                max_outbound_queue: 10,
                max_outbound_bytes: 4096,
                join_timeout: Duration::from_secs(3),
                max_failed_logins: 0,
            }
        );
        let o = options(r#""options": {"auto_ping_interval": 1000, "auto_ping_timeout": 300}"#);
        assert_eq!(o.auto_ping_timeout, Some(Duration::from_millis(300)));
        let config = load(&rawsocket(
            r#""serializers": ["msgpack", "json"], "debug": true"#,
        ));
        assert_eq!(
            service(&config).serializers,
            [SerializerName::MsgPack, SerializerName::Json]
        );
        assert_eq!(config.ignored, [format!("{T}.debug")]);
        // Crossbar's older single `serializer` (still in its Erlang and C++ examples).
        let config = load(&rawsocket(r#""serializer": "msgpack""#));
        assert_eq!(service(&config).serializers, [SerializerName::MsgPack]);
        assert_eq!(
            error(&rawsocket(
                r#""serializer": "msgpack", "serializers": ["json"]"#
            )),
            format!("{T}.serializer: write either serializer or serializers, not both")
        );
    }

    #[test]
    fn errors_name_the_path() {
        let e = |fields: &str| error(&rawsocket(fields));
        assert_eq!(
            e(r#""max_message_size": 0"#),
            format!("{T}.max_message_size: must be at least 1, found 0")
        );
        assert_eq!(
            e(r#""max_message_size": 1024, "options": {"max_message_size": 2048}"#),
            format!(
                "{T}.options.max_message_size: max_message_size is also given beside options; write it once"
            )
        );
        assert!(
            e(r#""options": {"allowed_origins": []}"#).starts_with(&format!(
                "{T}.options.allowed_origins: unknown key (allowed here: max_message_size, auto_ping_interval"
            ))
        );
        assert_eq!(
            e(r#""options": {"auto_ping_size": 200}"#),
            format!("{T}.options.auto_ping_size: 200 is out of range (4..=125)")
        );
        assert_eq!(
            e(r#""serializers": ["ubjson"]"#),
            format!("{T}.serializers[0]: serializer \"ubjson\" is not supported yet")
        );
        assert!(
            e(r#""url": "rs://x""#).starts_with(&format!(
                "{T}.url: unknown key (allowed here: type, endpoint, serializers, serializer, auth, max_message_size, options, id, debug)"
            ))
        );
        assert_eq!(
            e(r#""auth": {}"#),
            format!(
                "{T}.auth: no authentication method configured (expected anonymous, ticket, wampcra, cryptosign, scram or tls)"
            )
        );
        assert_eq!(
            e(r#""options": []"#),
            format!("{T}.options: expected an object, found an array")
        );
    }

    fn unix(endpoint: &str) -> String {
        worker(
            REALM1,
            &format!(r#"{{"type": "rawsocket", "endpoint": {endpoint}}}"#),
        )
    }

    #[test]
    fn unix_endpoints() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("junction.sock");
        let json = unix(&serde_json::json!({"type": "unix", "path": socket}).to_string());
        assert_eq!(
            load(&json).workers[0].transports[0].endpoint,
            Endpoint::Unix(UnixEndpoint {
                path: socket.clone(),
                backlog: 1024
            })
        );

        // Relative to the config file's folder.
        std::fs::create_dir(dir.path().join("conf")).unwrap();
        let file = dir.path().join("conf").join("config.json");
        std::fs::write(
            &file,
            unix(r#"{"type": "unix", "path": "../run.sock", "backlog": 5}"#),
        )
        .unwrap();
        let config = crate::config::load_file(&file).unwrap();
        let Endpoint::Unix(endpoint) = &config.workers[0].transports[0].endpoint else {
            panic!("expected a unix endpoint");
        };
        assert!(endpoint.path.is_absolute(), "{endpoint:?}");
        assert_eq!(
            std::fs::canonicalize(endpoint.path.parent().unwrap()).unwrap(),
            std::fs::canonicalize(dir.path()).unwrap()
        );
        assert_eq!(endpoint.backlog, 5);
    }

    #[test]
    fn unix_endpoint_errors() {
        let at = format!("{T}.endpoint");
        let e = |endpoint: &str| error(&unix(endpoint));
        assert_eq!(
            e(r#"{"type": "unix"}"#),
            format!("{at}.path: required key is missing")
        );
        assert_eq!(
            e(r#"{"type": "unix", "path": ""}"#),
            format!("{at}.path: expected a socket file name, found an empty string")
        );
        assert_eq!(
            e(r#"{"type": "unix", "path": "/no/such/folder/s.sock"}"#),
            format!("{at}.path: folder \"/no/such/folder\" does not exist")
        );
        let long = format!("/tmp/{}", "x".repeat(120));
        assert_eq!(
            e(&format!(r#"{{"type": "unix", "path": "{long}"}}"#)),
            format!("{at}.path: \"{long}\" is too long for a Unix socket (125 bytes, at most 107)")
        );
        assert!(
            e(r#"{"type": "unix", "path": "/tmp/s", "port": 1}"#).starts_with(&format!(
                "{at}.port: unknown key (allowed here: type, path, backlog)"
            ))
        );
        assert_eq!(
            e(r#"{"type": "pipe", "path": "/tmp/s"}"#),
            format!(
                "{at}.type: endpoint type \"pipe\" is not supported yet (expected tcp or unix)"
            )
        );
        // Only RawSocket transports listen on Unix sockets.
        let websocket = worker(
            REALM1,
            r#"{"type": "websocket", "endpoint": {"type": "unix", "path": "/tmp/s"}}"#,
        );
        assert_eq!(
            error(&websocket),
            format!(
                "{at}.type: endpoint type \"unix\" is only supported on rawsocket transports (yet)"
            )
        );
    }
}
