//! A `longpoll` path: WAMP over HTTP long-poll (the WAMP advanced profile's transport, which
//! autobahn.js speaks as `{type: 'longpoll'}`). Crossbar's keys (`options.request_timeout`,
//! `session_timeout`, `queue_limit_bytes`, `queue_limit_messages`, `debug_transport_id`;
//! `debug` accepted and ignored) and, as on a `websocket` path, `serializers` and `auth`; plus
//! Junction's `max_message_size`, `join_timeout` and `max_failed_logins`.

use std::time::Duration;

use crate::config::auth;
use crate::config::cookie::load_cookie;
use crate::config::loader::Loader;
use crate::config::model::{AuthConfig, PathService, SerializerName};
use crate::config::node::{Obj, Result};
use crate::config::websocket::{
    DEFAULT_JOIN_TIMEOUT, DEFAULT_MAX_FAILED_LOGINS, load_serializers, size,
};

/// `{"type": "longpoll", "serializers", "auth", "options"}`.
#[derive(Debug, Clone)]
pub struct LongPollService {
    /// The serializers served (each also batched); default all. The client's order of
    /// preference in `open` decides.
    pub serializers: Vec<SerializerName>,
    pub auth: AuthConfig,
    pub options: LongPollOptions,
    /// `cookie`: cookie tracking (and with it `cookie` auth), as on a `websocket` path.
    pub cookie: Option<Box<crate::config::CookieTracking>>,
}

/// A `longpoll` path's `options` (Crossbar's names and units: seconds for its timeouts).
#[derive(Debug, Clone, PartialEq)]
pub struct LongPollOptions {
    /// `request_timeout` (s, default 10): how long a `receive` waits for a message before it
    /// is answered empty (204).
    pub request_timeout: Duration,
    /// `session_timeout` (s, default 30; 0 = never): a transport with no request for this long
    /// is closed and its session left.
    pub session_timeout: Option<Duration>,
    /// `queue_limit_bytes` (default 128 KiB): bytes waiting for the client's `receive`; over
    /// it the session is closed as a slow consumer (a WebSocket's `max_outbound_bytes`).
    pub queue_limit_bytes: usize,
    /// `queue_limit_messages` (default 100): messages waiting, likewise
    /// (`max_outbound_queue`).
    pub queue_limit_messages: usize,
    /// `debug_transport_id`: every `open` gets this transport id (for debugging with curl).
    pub debug_transport_id: Option<String>,
    /// Junction: `max_message_size` (default 1 MiB), the largest `send` body.
    pub max_message_size: usize,
    /// Junction: `join_timeout` (ms, default 10 s), from `open` to WELCOME.
    pub join_timeout: Duration,
    /// Junction: `max_failed_logins` (default 20), as on a WebSocket path.
    pub max_failed_logins: u32,
    /// Junction: `max_transports` (default 10000): transports open on this path at once.
    pub max_transports: usize,
    /// Junction: `max_transports_per_ip` (default 1000, a WebSocket endpoint's
    /// `max_connections_per_ip`): transports one client address may have open.
    pub max_transports_per_ip: usize,
}

impl Default for LongPollOptions {
    fn default() -> Self {
        LongPollOptions {
            request_timeout: Duration::from_secs(10),
            session_timeout: Some(Duration::from_secs(30)),
            queue_limit_bytes: 128 * 1024,
            queue_limit_messages: 100,
            debug_transport_id: None,
            max_message_size: 1024 * 1024,
            join_timeout: DEFAULT_JOIN_TIMEOUT,
            max_failed_logins: DEFAULT_MAX_FAILED_LOGINS,
            max_transports: 10_000,
            max_transports_per_ip: 1000,
        }
    }
}

/// The `longpoll` path at `obj` (its `type` checked by the caller).
pub(super) fn load_longpoll_path(obj: &Obj, cx: &mut Loader) -> Result<PathService> {
    obj.keys(
        &["type", "serializers", "auth", "options", "cookie"],
        &["id", "debug"],
        &mut cx.ignored,
    )?;
    let mut options = LongPollOptions::default();
    if let Some(node) = obj.get("options") {
        let o = node.object()?;
        o.keys(
            &[
                "request_timeout",
                "session_timeout",
                "queue_limit_bytes",
                "queue_limit_messages",
                "debug_transport_id",
                "max_message_size",
                "join_timeout",
                "max_failed_logins",
                "max_transports",
                "max_transports_per_ip",
            ],
            &["debug"],
            &mut cx.ignored,
        )?;
        if let Some(s) = o.opt("request_timeout", |n| n.u64_in(1, 3600))? {
            options.request_timeout = Duration::from_secs(s);
        }
        if let Some(s) = o.opt_u64("session_timeout")? {
            options.session_timeout = (s > 0).then(|| Duration::from_secs(s));
        }
        if let Some(n) = size(&o, "queue_limit_bytes")? {
            options.queue_limit_bytes = n;
        }
        if let Some(n) = size(&o, "queue_limit_messages")? {
            options.queue_limit_messages = n;
        }
        if let Some(node) = o.get("debug_transport_id") {
            let id = node.non_empty_str()?;
            if !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(node.error("a transport id is letters, digits, '-' and '_'"));
            }
            options.debug_transport_id = Some(id.to_string());
        }
        if let Some(n) = size(&o, "max_message_size")? {
            options.max_message_size = n;
        }
        if let Some(ms) = o.opt("join_timeout", |n| n.u64_min(1))? {
            options.join_timeout = Duration::from_millis(ms);
        }
        if let Some(n) = o.opt_u64("max_failed_logins")? {
            options.max_failed_logins = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = size(&o, "max_transports")? {
            options.max_transports = n;
        }
        if let Some(n) = size(&o, "max_transports_per_ip")? {
            options.max_transports_per_ip = n;
        }
    }
    let auth = auth::load_auth(obj.get("auth").as_ref(), cx)?;
    // Junction's: Crossbar tracks cookies on WebSocket paths only. The cookie is set on the
    // answer to `open` and read from its request.
    let cookie = obj
        .get("cookie")
        .map(|node| load_cookie(&node, cx).map(Box::new))
        .transpose()?;
    if auth.cookie && cookie.is_none() {
        return Err(auth::cookie_auth_error(
            obj,
            "cookie auth needs cookie tracking: add a \"cookie\" option (e.g. \"cookie\": {}) \
             beside \"auth\"",
        ));
    }
    Ok(PathService::LongPoll(LongPollService {
        serializers: load_serializers(obj.get("serializers").as_ref())?,
        auth,
        options,
        cookie,
    }))
}

#[cfg(test)]
mod tests {
    use crate::config::PathService;
    use crate::config::load::{load_str_with_env, testing::*};

    fn load(path: &str) -> Result<crate::config::Config, String> {
        load_str_with_env(&web_worker(REALM1, path), &|_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn options_load_with_crossbar_units() {
        let config = load(
            r#""lp": {"type": "longpoll", "options": {"request_timeout": 2,
               "session_timeout": 0, "queue_limit_messages": 7, "debug": true}}"#,
        )
        .unwrap();
        let paths = config.workers[0].transports[0].kind.paths().unwrap();
        let PathService::LongPoll(lp) = &paths["/lp"] else {
            panic!("not a longpoll path: {:?}", paths["/lp"]);
        };
        assert_eq!(lp.options.request_timeout.as_secs(), 2);
        assert_eq!(lp.options.session_timeout, None);
        assert_eq!(lp.options.queue_limit_messages, 7);
        assert_eq!(lp.options.queue_limit_bytes, 128 * 1024);
        assert_eq!(lp.serializers.len(), 3);
    }

    #[test]
    fn check_summarises_the_path() {
        let config = load(
            r#""lp": {"type": "longpoll", "serializers": ["json"],
               "auth": {"anonymous": {"type": "static", "role": "anonymous"}},
               "options": {"session_timeout": 60}}"#,
        )
        .unwrap();
        let summary = crate::config::summary(&config);
        assert!(
            summary.contains(
                "/lp: longpoll (json; request_timeout 10 s, session_timeout 60 s, queue limits \
                 100 messages, 131072 bytes)\n"
            ),
            "{summary}"
        );
        assert!(
            summary.contains("auth anonymous: role anonymous"),
            "{summary}"
        );
    }

    #[test]
    fn bad_options_name_the_key() {
        let p = "workers[0].transports[0].paths.lp";
        let error = |options: &str| {
            load(&format!(
                r#""lp": {{"type": "longpoll", "options": {options}}}"#
            ))
            .unwrap_err()
        };
        assert!(
            error(r#"{"request_timeout": 0}"#)
                .starts_with(&format!("{p}.options.request_timeout:"))
        );
        assert!(
            error(r#"{"queue_limit_byte": 1}"#)
                .starts_with(&format!("{p}.options.queue_limit_byte: unknown key"))
        );
        assert!(
            error(r#"{"debug_transport_id": "a/b"}"#)
                .starts_with(&format!("{p}.options.debug_transport_id:"))
        );
        assert!(
            load(r#""lp": {"type": "longpoll", "serializers": ["xml"]}"#)
                .unwrap_err()
                .starts_with(&format!("{p}.serializers[0]: unknown serializer"))
        );
    }
}
