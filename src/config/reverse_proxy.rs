//! Reverse proxy paths: `reverseproxy` (Crossbar's `host`, `port`, `path`, `forwarded_port`,
//! `forwarded_proto`, and Junction's `options.connect_timeout` / `response_timeout`) and
//! `websocket-reverseproxy` (Crossbar's `options` for the client side and a connecting
//! `backend`: `{"type": "websocket", "endpoint": {"type": "tcp", "host", "port", "timeout"},
//! "url", "options"}`).

use std::net::IpAddr;
use std::time::Duration;

use crate::config::loader::Loader;
use crate::config::model::{
    PathService, ReverseProxyService, WebSocketBackend, WebSocketOptions, WebSocketProxyService,
};
use crate::config::node::{Node, Obj, Result};
use crate::config::websocket::{
    IGNORED_WEBSOCKET_OPTIONS, default_websocket_options, load_origins, size,
};

/// Default `options.connect_timeout` of a `reverseproxy` path.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `options.response_timeout` of a `reverseproxy` path.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `backend.endpoint.timeout` of a `websocket-reverseproxy` path.
pub const DEFAULT_BACKEND_TIMEOUT: Duration = Duration::from_secs(10);

/// WebSocket options of a WAMP session that mean nothing to a relayed connection (pings are
/// relayed, not made; there is no session to join), accepted as Crossbar configs write them.
const IGNORED_SESSION_OPTIONS: &[&str] = &[
    "auto_ping_interval",
    "auto_ping_timeout",
    "auto_ping_size",
    "open_handshake_timeout",
    "compression",
];

/// The service of a path whose `type` is one of these, or `None` for any other type.
pub(super) fn load_proxy_path(
    kind: &str,
    obj: &Obj,
    cx: &mut Loader,
) -> Option<Result<PathService>> {
    Some(match kind {
        "reverseproxy" => load_reverse_proxy(obj, cx).map(PathService::ReverseProxy),
        "websocket-reverseproxy" => load_websocket_proxy(obj, cx).map(PathService::WebSocketProxy),
        _ => return None,
    })
}

fn load_reverse_proxy(obj: &Obj, cx: &mut Loader) -> Result<ReverseProxyService> {
    obj.keys(
        &[
            "type",
            "host",
            "port",
            "path",
            "forwarded_port",
            "forwarded_proto",
            "options",
        ],
        &["id"],
        &mut cx.ignored,
    )?;
    let mut service = ReverseProxyService {
        host: host(&obj.required("host")?)?,
        port: obj.opt("port", port)?.unwrap_or(80),
        path: match obj.get("path") {
            Some(node) => base_path(&node)?,
            None => String::new(),
        },
        forwarded_port: obj.opt("forwarded_port", port)?,
        forwarded_proto: obj
            .opt("forwarded_proto", |node| node.one_of(&["http", "https"]))?
            .map(str::to_string),
        connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        response_timeout: DEFAULT_RESPONSE_TIMEOUT,
    };
    if let Some(options) = obj.get("options") {
        let options = options.object()?;
        options.only(&["connect_timeout", "response_timeout"])?;
        if let Some(ms) = options.opt("connect_timeout", |node| node.u64_min(1))? {
            service.connect_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = options.opt("response_timeout", |node| node.u64_min(1))? {
            service.response_timeout = Duration::from_millis(ms);
        }
    }
    Ok(service)
}

fn load_websocket_proxy(obj: &Obj, cx: &mut Loader) -> Result<WebSocketProxyService> {
    // `url` is the address Crossbar announces for the path; nothing reads it here.
    obj.keys(
        &["type", "backend", "options"],
        &["id", "url"],
        &mut cx.ignored,
    )?;
    let options = proxy_options(obj.get("options").as_ref(), true, cx)?;
    let backend = obj.required("backend")?.object()?;
    backend.keys(
        &["type", "endpoint", "url", "options"],
        &["id", "serializers"],
        &mut cx.ignored,
    )?;
    let kind = backend.required("type")?;
    if kind.str()? != "websocket" {
        return Err(kind.error(format!(
            "backend type \"{}\" is not supported (expected websocket)",
            kind.str()?
        )));
    }
    let endpoint = backend.required("endpoint")?.object()?;
    endpoint.reject(&[(
        "tls",
        "TLS to the backend (wss) is not supported yet: connect to it over plain TCP",
    )])?;
    let endpoint_type = endpoint.required("type")?;
    if endpoint_type.str()? != "tcp" {
        return Err(endpoint_type.error(format!(
            "backend endpoint type \"{}\" is not supported yet (expected tcp)",
            endpoint_type.str()?
        )));
    }
    endpoint.keys(
        &["type", "host", "port", "timeout"],
        &["version"],
        &mut cx.ignored,
    )?;
    let url_node = backend.required("url")?;
    Ok(WebSocketProxyService {
        options,
        backend: WebSocketBackend {
            host: host(&endpoint.required("host")?)?,
            port: port(&endpoint.required("port")?)?,
            timeout: endpoint
                .opt("timeout", |node| node.u64_in(1, 600))?
                .map_or(DEFAULT_BACKEND_TIMEOUT, Duration::from_secs),
            url: websocket_url(&url_node)?,
            options: proxy_options(backend.get("options").as_ref(), false, cx)?,
        },
    })
}

/// `options` of one side of a relayed WebSocket: message and frame sizes, and on the client
/// side the origins.
fn proxy_options(
    node: Option<&Node>,
    client_side: bool,
    cx: &mut Loader,
) -> Result<WebSocketOptions> {
    let mut options = default_websocket_options();
    let Some(node) = node else {
        return Ok(options);
    };
    let obj = node.object()?;
    let known: &[&str] = if client_side {
        &[
            "max_message_size",
            "max_frame_size",
            "allowed_origins",
            "allow_null_origin",
        ]
    } else {
        &["max_message_size", "max_frame_size"]
    };
    let ignored: Vec<&str> = IGNORED_WEBSOCKET_OPTIONS
        .iter()
        .chain(IGNORED_SESSION_OPTIONS)
        .copied()
        .collect();
    obj.keys(known, &ignored, &mut cx.ignored)?;
    if let Some(max) = size(&obj, "max_message_size")? {
        options.max_message_size = max;
    }
    options.max_frame_size = size(&obj, "max_frame_size")?.unwrap_or(options.max_message_size);
    if client_side {
        load_origins(&obj, &mut options)?;
    }
    Ok(options)
}

fn port(node: &Node) -> Result<u16> {
    Ok(node.u64_in(1, 65535)? as u16)
}

/// A host name or an IP address (IPv6 with or without brackets; kept without).
fn host(node: &Node) -> Result<String> {
    let text = node.non_empty_str()?;
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let name = bare
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if bare.parse::<IpAddr>().is_err() && !name {
        return Err(node.error(format!(
            "\"{text}\" is not a host name or IP address (write the port in \"port\")"
        )));
    }
    Ok(bare.to_string())
}

/// The backend path prefix: empty or starting with `/`, kept without its trailing `/`.
fn base_path(node: &Node) -> Result<String> {
    let text = node.str()?;
    if !(text.is_empty() || text.starts_with('/'))
        || text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
    {
        return Err(node.error(format!(
            "\"{text}\" is not a URL path (expected e.g. \"/\" or \"/api\")"
        )));
    }
    Ok(text.trim_end_matches('/').to_string())
}

/// A `ws://` URL with a host.
fn websocket_url(node: &Node) -> Result<String> {
    let text = node.non_empty_str()?;
    let url =
        url::Url::parse(text).map_err(|e| node.error(format!("\"{text}\" is not a URL: {e}")))?;
    match url.scheme() {
        "ws" if url.has_host() => Ok(url.to_string()),
        "ws" => Err(node.error(format!("\"{text}\" names no host"))),
        "wss" => {
            Err(node
                .error("TLS to the backend (wss) is not supported yet: connect to it with ws://"))
        }
        other => Err(node.error(format!(
            "\"{text}\": scheme \"{other}\" is not a WebSocket URL (expected ws://)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load::{load_str_with_env, testing::*};
    use crate::config::model::{PathService, TransportKind};

    fn load(path: &str) -> Result<PathService, String> {
        let config =
            load_str_with_env(&web_worker(REALM1, path), &|_| None).map_err(|e| e.to_string())?;
        match &config.workers[0].transports[0].kind {
            TransportKind::Web { paths, .. } => Ok(paths["/x"].clone()),
            other => panic!("{other:?}"),
        }
    }

    fn error(path: &str) -> String {
        load(path).unwrap_err()
    }

    const P: &str = "workers[0].transports[0].paths.x";

    #[test]
    fn reverse_proxy_defaults_and_options() {
        let PathService::ReverseProxy(proxy) =
            load(r#""x": {"type": "reverseproxy", "host": "example.com"}"#).unwrap()
        else {
            panic!()
        };
        assert_eq!(proxy.authority(), "example.com:80");
        assert_eq!(proxy.path, "");
        assert_eq!(proxy.forwarded_proto, None);
        assert_eq!(proxy.connect_timeout.as_millis(), 5000);
        assert_eq!(proxy.response_timeout.as_millis(), 60000);
        let PathService::ReverseProxy(proxy) = load(
            r#""x": {"type": "reverseproxy", "host": "::1", "port": 8000, "path": "/api/",
                     "forwarded_port": 443, "forwarded_proto": "https", "id": "p1",
                     "options": {"connect_timeout": 250, "response_timeout": 1500}}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(proxy.authority(), "[::1]:8000");
        assert_eq!(proxy.path, "/api");
        assert_eq!(proxy.forwarded_port, Some(443));
        assert_eq!(proxy.forwarded_proto.as_deref(), Some("https"));
        assert_eq!(proxy.connect_timeout.as_millis(), 250);
        assert_eq!(proxy.response_timeout.as_millis(), 1500);
    }

    #[test]
    fn reverse_proxy_errors_name_the_key() {
        let cases = [
            (
                r#"{"type": "reverseproxy"}"#,
                "host: required key is missing",
            ),
            (
                r#"{"type": "reverseproxy", "host": "a b"}"#,
                "host: \"a b\" is not a host name or IP address (write the port in \"port\")",
            ),
            (
                r#"{"type": "reverseproxy", "host": "h:80"}"#,
                "host: \"h:80\" is not a host name or IP address (write the port in \"port\")",
            ),
            (
                r#"{"type": "reverseproxy", "host": "h", "port": 0}"#,
                "port: 0 is out of range (1..=65535)",
            ),
            (
                r#"{"type": "reverseproxy", "host": "h", "path": "api"}"#,
                "path: \"api\" is not a URL path (expected e.g. \"/\" or \"/api\")",
            ),
            (
                r#"{"type": "reverseproxy", "host": "h", "forwarded_proto": "ftp"}"#,
                "forwarded_proto: expected one of http, https, found \"ftp\"",
            ),
            (
                r#"{"type": "reverseproxy", "host": "h", "options": {"connect_timeout": 0}}"#,
                "options.connect_timeout: must be at least 1, found 0",
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(error(&format!(r#""x": {path}"#)), format!("{P}.{expected}"));
        }
        assert!(
            error(r#""x": {"type": "reverseproxy", "host": "h", "tls": true}"#)
                .starts_with(&format!("{P}.tls: unknown key"))
        );
        assert!(
            error(r#""x": {"type": "reverseproxy", "host": "h", "options": {"timeout": 1}}"#)
                .starts_with(&format!("{P}.options.timeout: unknown key"))
        );
    }

    fn ws_proxy(backend: &str) -> String {
        format!(r#""x": {{"type": "websocket-reverseproxy", "backend": {backend}}}"#)
    }

    #[test]
    fn websocket_proxy_as_crossbar_writes_it() {
        let PathService::WebSocketProxy(proxy) = load(
            r#""x": {"type": "websocket-reverseproxy", "url": "ws://front/x",
                     "options": {"max_message_size": 4096, "allowed_origins": ["https://*.example.com"],
                                 "auto_ping_interval": 1000},
                     "backend": {"type": "websocket",
                                 "endpoint": {"type": "tcp", "host": "127.0.0.1", "port": 9000, "timeout": 3},
                                 "url": "ws://localhost:9000/ws?x=1",
                                 "serializers": ["json"], "options": {"max_frame_size": 1000}}}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(proxy.options.max_message_size, 4096);
        assert_eq!(
            proxy.options.allowed_origins,
            Some(vec!["https://*.example.com".to_string()])
        );
        assert_eq!(proxy.backend.authority(), "127.0.0.1:9000");
        assert_eq!(proxy.backend.timeout.as_secs(), 3);
        assert_eq!(proxy.backend.url, "ws://localhost:9000/ws?x=1");
        assert_eq!(proxy.backend.options.max_frame_size, 1000);
        let PathService::WebSocketProxy(proxy) = load(&ws_proxy(
            r#"{"type": "websocket", "endpoint": {"type": "tcp", "host": "h", "port": 1}, "url": "ws://h:1"}"#,
        ))
        .unwrap() else {
            panic!()
        };
        assert_eq!(proxy.backend.timeout.as_secs(), 10);
        assert_eq!(proxy.options.max_message_size, 1024 * 1024);
    }

    #[test]
    fn websocket_proxy_errors_name_the_key() {
        let endpoint = r#"{"type": "tcp", "host": "h", "port": 1}"#;
        let cases = [
            (
                r#""x": {"type": "websocket-reverseproxy"}"#.to_string(),
                "backend: required key is missing",
            ),
            (
                ws_proxy(&format!(
                    r#"{{"type": "rawsocket", "endpoint": {endpoint}, "url": "ws://h"}}"#
                )),
                "backend.type: backend type \"rawsocket\" is not supported (expected websocket)",
            ),
            (
                ws_proxy(r#"{"type": "websocket", "url": "ws://h"}"#),
                "backend.endpoint: required key is missing",
            ),
            (
                ws_proxy(&format!(
                    r#"{{"type": "websocket", "endpoint": {endpoint}}}"#
                )),
                "backend.url: required key is missing",
            ),
            (
                ws_proxy(&format!(
                    r#"{{"type": "websocket", "endpoint": {endpoint}, "url": "http://h"}}"#
                )),
                "backend.url: \"http://h\": scheme \"http\" is not a WebSocket URL (expected ws://)",
            ),
            (
                ws_proxy(&format!(
                    r#"{{"type": "websocket", "endpoint": {endpoint}, "url": "wss://h"}}"#
                )),
                "backend.url: TLS to the backend (wss) is not supported yet: connect to it with ws://",
            ),
            (
                ws_proxy(
                    r#"{"type": "websocket", "endpoint": {"type": "unix", "path": "s"}, "url": "ws://h"}"#,
                ),
                "backend.endpoint.type: backend endpoint type \"unix\" is not supported yet (expected tcp)",
            ),
            (
                ws_proxy(
                    r#"{"type": "websocket", "endpoint": {"type": "tcp", "host": "h", "port": 1, "tls": {}}, "url": "ws://h"}"#,
                ),
                "backend.endpoint.tls: TLS to the backend (wss) is not supported yet: connect to it over plain TCP",
            ),
            (
                ws_proxy(
                    r#"{"type": "websocket", "endpoint": {"type": "tcp", "host": "h"}, "url": "ws://h"}"#,
                ),
                "backend.endpoint.port: required key is missing",
            ),
            (
                ws_proxy(
                    r#"{"type": "websocket", "endpoint": {"type": "tcp", "host": "h", "port": 1, "timeout": 601}, "url": "ws://h"}"#,
                ),
                "backend.endpoint.timeout: 601 is out of range (1..=600)",
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(error(&path), format!("{P}.{expected}"), "{path}");
        }
        // Origins are checked on the client side only; WAMP session options do not apply.
        assert!(
            error(&ws_proxy(&format!(
                r#"{{"type": "websocket", "endpoint": {endpoint}, "url": "ws://h", "options": {{"allowed_origins": []}}}}"#
            )))
            .starts_with(&format!("{P}.backend.options.allowed_origins: unknown key"))
        );
        assert!(
            error(&format!(
                r#""x": {{"type": "websocket-reverseproxy", "options": {{"join_timeout": 5}}, "backend": {{"type": "websocket", "endpoint": {endpoint}, "url": "ws://h"}}}}"#
            ))
            .starts_with(&format!("{P}.options.join_timeout: unknown key"))
        );
    }
}
