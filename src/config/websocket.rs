//! WAMP over WebSocket: a service's `serializers` and `options` (message and frame sizes,
//! auto-ping, origins, handshake and join deadlines, outbound bounds, failed-login limit), the
//! options RawSocket shares, the Crossbar options accepted and ignored, and the defaults.

use std::time::Duration;

use crate::config::auth;
use crate::config::cookie::load_cookie;
use crate::config::loader::Loader;
use crate::config::model::{SerializerName, WebSocketOptions, WebSocketService};
use crate::config::node::{Node, Obj, Result};

/// WebSocket options Junction reads.
const WEBSOCKET_OPTIONS: &[&str] = &[
    "max_message_size",
    "max_frame_size",
    "auto_ping_interval",
    "auto_ping_timeout",
    "auto_ping_size",
    "allowed_origins",
    "allow_null_origin",
    "open_handshake_timeout",
    "max_outbound_queue",
    "max_outbound_bytes",
    "join_timeout",
    "max_failed_logins",
    "require_websocket_subprotocol",
    "enable_webstatus",
    "compression",
];

/// WebSocket options of autobahn/Crossbar that tune behaviour Junction fixes (or lacks
/// harmlessly); accepted so real Crossbar configs load, and listed by `check`.
pub(super) const IGNORED_WEBSOCKET_OPTIONS: &[&str] = &[
    "utf8validation",
    "validate_utf8",
    "echo_close_codereason",
    "fail_by_drop",
    "close_handshake_timeout",
    "tcp_nodelay",
    "enable_hybi10",
    "enable_rfc6455",
    "mask_server_frames",
    "require_masked_client_frames",
    "apply_mask",
    "auto_fragment_size",
    "external_port",
    "auto_ping_restart_on_any_traffic",
    "show_server_version",
    "enable_flash_policy",
    "flash_policy",
];

/// Default `max_outbound_bytes`: what one session may have waiting to be written.
pub const DEFAULT_MAX_OUTBOUND_BYTES: usize = 16 * 1024 * 1024;

/// Default `max_failed_logins`: failed logins one address may have in a burst (one is forgiven each second).
pub const DEFAULT_MAX_FAILED_LOGINS: u32 = 20;

/// Default `join_timeout`: the longest a connection may stay open without joining a realm.
pub const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of a WebSocket service or path that has none in the file.
pub fn default_websocket_options() -> WebSocketOptions {
    WebSocketOptions {
        max_message_size: 1024 * 1024,
        max_frame_size: 1024 * 1024,
        auto_ping_interval: None,
        auto_ping_timeout: None,
        auto_ping_size: 4,
        allowed_origins: None,
        allow_null_origin: true,
        open_handshake_timeout: Duration::from_secs(10),
        max_outbound_queue: 4096,
        max_outbound_bytes: DEFAULT_MAX_OUTBOUND_BYTES,
        join_timeout: DEFAULT_JOIN_TIMEOUT,
        max_failed_logins: DEFAULT_MAX_FAILED_LOGINS,
        require_subprotocol: true,
        status_page: true,
    }
}

/// `serializers`, `auth`, `options` and `cookie` of a `websocket` transport or path (keys
/// checked by the caller).
pub(super) fn load_websocket_service(obj: &Obj, cx: &mut Loader) -> Result<WebSocketService> {
    let auth = auth::load_auth(obj.get("auth").as_ref(), cx)?;
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
    Ok(WebSocketService {
        serializers: load_serializers(obj.get("serializers").as_ref())?,
        auth,
        options: load_websocket_options(obj.get("options").as_ref(), cx)?,
        cookie,
    })
}

pub(super) fn load_serializers(node: Option<&Node>) -> Result<Vec<SerializerName>> {
    let Some(node) = node else {
        return Ok(SerializerName::ALL.to_vec());
    };
    let items = node.array()?;
    if items.is_empty() {
        return Err(node.error("at least one serializer is required (json, msgpack, cbor)"));
    }
    let mut serializers = Vec::new();
    for item in items {
        let serializer = match item.str()? {
            "json" => SerializerName::Json,
            "msgpack" => SerializerName::MsgPack,
            "cbor" => SerializerName::Cbor,
            name @ ("ubjson" | "flatbuffers") => {
                return Err(item.error(format!("serializer \"{name}\" is not supported yet")));
            }
            name => {
                return Err(item.error(format!(
                    "unknown serializer \"{name}\" (expected json, msgpack or cbor)"
                )));
            }
        };
        if serializers.contains(&serializer) {
            return Err(item.error("serializer listed twice"));
        }
        serializers.push(serializer);
    }
    Ok(serializers)
}

pub(super) fn load_websocket_options(
    node: Option<&Node>,
    cx: &mut Loader,
) -> Result<WebSocketOptions> {
    let mut options = default_websocket_options();
    let Some(node) = node else {
        return Ok(options);
    };
    let obj = node.object()?;
    obj.keys(
        WEBSOCKET_OPTIONS,
        IGNORED_WEBSOCKET_OPTIONS,
        &mut cx.ignored,
    )?;
    if let Some(compression) = obj.get("compression") {
        compression.object()?;
        // tungstenite has no permessage-deflate; RFC 7692 lets a server decline the offer,
        // and clients then send uncompressed frames.
        cx.ignored.push(format!(
            "{} (permessage-deflate is not negotiated: clients send uncompressed frames)",
            compression.path
        ));
    }
    if let Some(require) = obj.opt_bool("require_websocket_subprotocol")? {
        options.require_subprotocol = require;
    }
    if let Some(status_page) = obj.opt_bool("enable_webstatus")? {
        options.status_page = status_page;
    }

    if let Some(max) = size(&obj, "max_message_size")? {
        options.max_message_size = max;
    }
    options.max_frame_size = size(&obj, "max_frame_size")?.unwrap_or(options.max_message_size);
    let shared = load_shared_options(&obj)?;
    options.auto_ping_interval = shared.auto_ping_interval;
    options.auto_ping_timeout = shared.auto_ping_timeout;
    options.auto_ping_size = shared.auto_ping_size.unwrap_or(options.auto_ping_size);
    load_origins(&obj, &mut options)?;
    if let Some(timeout) = shared.open_handshake_timeout {
        options.open_handshake_timeout = timeout;
    }
    if let Some(max) = shared.max_outbound_queue {
        options.max_outbound_queue = max;
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
    Ok(options)
}

/// `allowed_origins` and `allow_null_origin` of an `options` object whose keys the caller checked.
pub(super) fn load_origins(obj: &Obj, options: &mut WebSocketOptions) -> Result<()> {
    if let Some(node) = obj.get("allowed_origins") {
        let origins = node.array()?;
        options.allowed_origins = Some(
            origins
                .iter()
                .map(|origin| origin.str().map(str::to_string))
                .collect::<Result<_>>()?,
        );
    }
    if let Some(allow) = obj.opt_bool("allow_null_origin")? {
        options.allow_null_origin = allow;
    }
    Ok(())
}

pub(super) use crate::config::node::size;

/// The options WebSocket and RawSocket services share, as written (`None` when absent).
pub(super) struct SharedOptions {
    pub auto_ping_interval: Option<Duration>,
    /// Defaults to the interval.
    pub auto_ping_timeout: Option<Duration>,
    pub auto_ping_size: Option<usize>,
    pub open_handshake_timeout: Option<Duration>,
    pub max_outbound_queue: Option<usize>,
    pub max_outbound_bytes: Option<usize>,
    pub join_timeout: Option<Duration>,
    pub max_failed_logins: Option<u32>,
}

/// `auto_ping_interval`, `auto_ping_timeout` (ms; 0 turns pings, or their timeout, off, as in
/// Crossbar), `auto_ping_size` (4..=125), `open_handshake_timeout` (ms), `max_outbound_queue`,
/// `max_outbound_bytes`, `join_timeout` (ms) and `max_failed_logins` of an `options` object
/// whose keys the caller checked.
pub(super) fn load_shared_options(obj: &Obj) -> Result<SharedOptions> {
    let millis = |key: &str| -> Result<Option<Duration>> {
        Ok(obj
            .opt_u64(key)?
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis))
    };
    let auto_ping_interval = millis("auto_ping_interval")?;
    Ok(SharedOptions {
        auto_ping_interval,
        auto_ping_timeout: match obj.get("auto_ping_timeout") {
            Some(_) => millis("auto_ping_timeout")?,
            None => auto_ping_interval,
        },
        auto_ping_size: obj
            .opt("auto_ping_size", |node| node.u64_in(4, 125))?
            .map(|n| n as usize),
        open_handshake_timeout: obj.opt("open_handshake_timeout", |node| {
            Ok(Duration::from_millis(node.u64_min(1)?))
        })?,
        max_outbound_queue: size(obj, "max_outbound_queue")?,
        max_outbound_bytes: size(obj, "max_outbound_bytes")?,
        join_timeout: obj.opt("join_timeout", |node| {
            Ok(Duration::from_millis(node.u64_min(1)?))
        })?,
        max_failed_logins: obj.opt("max_failed_logins", |node| {
            Ok(u32::try_from(node.u64()?).unwrap_or(u32::MAX))
        })?,
    })
}
