//! `transports[]`: one entry's `type`, `endpoint` and `options`, handed to the loader of its
//! kind: endpoints (TCP with TLS files, Unix sockets) in [`endpoint`](super::endpoint), `web`
//! path tables in [`web_paths`](super::web_paths), WAMP-over-WebSocket services in
//! [`websocket`](super::websocket), RawSocket services in [`rawsocket`](super::rawsocket),
//! `universal` transports in [`universal`](super::universal); `auth` is in
//! [`auth`](super::auth) and the HTTP bridge paths in [`bridge`](super::bridge).

use crate::config::endpoint::load_endpoint;
use crate::config::loader::Loader;
use crate::config::model::{Endpoint, TransportConfig, TransportKind};
use crate::config::node::{Node, Result};
use crate::config::web_paths::{load_paths, load_web_options};
use crate::config::websocket::load_websocket_service;
use crate::config::{rawsocket, universal};

/// Crossbar transport types Junction does not serve (yet); anything else is a typo.
const CROSSBAR_TRANSPORTS: &[&str] =
    &["mqtt", "websocket.testee", "stream_testee", "stream.testee"];

pub(crate) fn load_transport(node: &Node, cx: &mut Loader) -> Result<TransportConfig> {
    let obj = node.object()?;
    let kind_node = obj.required("type")?;
    let kind = match kind_node.str()? {
        "websocket" => {
            obj.keys(
                &[
                    "type",
                    "endpoint",
                    "serializers",
                    "auth",
                    "options",
                    "cookie",
                ],
                &["url", "debug", "id"],
                &mut cx.ignored,
            )?;
            TransportKind::WebSocket(load_websocket_service(&obj, cx)?)
        }
        "web" => {
            obj.keys(
                &["type", "endpoint", "paths", "options"],
                &["id", "debug"],
                &mut cx.ignored,
            )?;
            TransportKind::Web {
                paths: load_paths(&obj.required("paths")?, cx)?,
                options: load_web_options(obj.get("options").as_ref(), cx)?,
            }
        }
        "rawsocket" => {
            obj.keys(
                &[
                    "type",
                    "endpoint",
                    "serializers",
                    "serializer",
                    "auth",
                    "max_message_size",
                    "options",
                ],
                &["id", "debug"],
                &mut cx.ignored,
            )?;
            TransportKind::RawSocket(rawsocket::load_rawsocket_service(&obj, cx)?)
        }
        "universal" => universal::load_universal(&obj, cx)?,
        other if CROSSBAR_TRANSPORTS.contains(&other) => {
            return Err(kind_node.error(format!("transport type \"{other}\" is not supported yet")));
        }
        other => {
            return Err(kind_node.error(format!(
                "unknown transport type \"{other}\" (expected websocket, web, rawsocket or universal)"
            )));
        }
    };
    let unix_allowed = matches!(kind, TransportKind::RawSocket(_));
    let endpoint = load_endpoint(&obj.required("endpoint")?, cx, unix_allowed)?;
    warn_tls_auth_without_client_certificates(&endpoint, cx);
    Ok(TransportConfig {
        path: node.path.clone(),
        endpoint,
        kind,
    })
}

/// `tls` auth on a transport whose endpoint asks for no client certificate loads, as in
/// Crossbar, but can never log anyone in: a warning names each such block.
fn warn_tls_auth_without_client_certificates(endpoint: &Endpoint, cx: &mut Loader) {
    let paths = std::mem::take(&mut cx.tls_auth_paths);
    if endpoint
        .tls()
        .is_some_and(|tls| !tls.ca_certificates.is_empty())
    {
        return;
    }
    for path in paths {
        cx.warnings.push(format!(
            "{path}: the endpoint has no tls.ca_certificates, so no client certificate is asked \
             for and every tls login is refused"
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::config::load::{load_str_with_env, testing::*};
    use crate::config::model::{
        Endpoint, PathService, SerializerName, TcpEndpoint, TlsFiles, WebOptions, WebSocketOptions,
        WebSocketService,
    };
    use crate::config::websocket::default_websocket_options;

    const T: &str = "workers[0].transports[0]";

    fn web(paths: &str) -> String {
        web_worker(REALM1, paths)
    }

    fn websocket(fields: &str) -> String {
        let sep = if fields.is_empty() { "" } else { ", " };
        worker(
            REALM1,
            &format!(
                r#"{{"type": "websocket", "endpoint": {{"type": "tcp", "port": 8080}}{sep}{fields}}}"#
            ),
        )
    }

    fn endpoint(json: &str) -> String {
        worker(
            REALM1,
            &format!(r#"{{"type": "websocket", "endpoint": {json}}}"#),
        )
    }

    fn service(config: &crate::config::Config) -> &WebSocketService {
        match &config.workers[0].transports[0].kind {
            TransportKind::WebSocket(service) => service,
            TransportKind::Web { paths, .. } => match paths.values().next() {
                Some(PathService::WebSocket(service)) => service,
                other => panic!("expected a websocket path, got {other:?}"),
            },
            other => panic!("expected a websocket service, got {other:?}"),
        }
    }

    fn options(json: &str) -> WebSocketOptions {
        service(&load(&websocket(&format!(r#""options": {json}"#))))
            .options
            .clone()
    }

    #[test]
    fn websocket_transport_defaults() {
        let config = load(&websocket(""));
        let transport = &config.workers[0].transports[0];
        assert_eq!(
            transport.endpoint,
            Endpoint::Tcp(TcpEndpoint {
                interface: "0.0.0.0".into(),
                port: 8080,
                backlog: 1024,
                tls: None,
                max_connections: None,
                max_connections_per_ip: 1000,
            })
        );
        let service = service(&config);
        assert_eq!(
            service.serializers,
            [
                SerializerName::Json,
                SerializerName::MsgPack,
                SerializerName::Cbor
            ]
        );
        assert_eq!(service.options, default_websocket_options());
        assert_eq!(service.auth.anonymous.as_ref().unwrap().role, "anonymous");
        assert!(service.auth.ticket.is_none() && service.auth.wampcra.is_none());
    }

    #[test]
    fn endpoints() {
        let config = load(&endpoint(
            r#"{"type": "tcp", "port": 0, "interface": "127.0.0.1", "backlog": 10, "version": 4, "shared": true}"#,
        ));
        let transport = &config.workers[0].transports[0];
        let tcp = transport.endpoint.tcp().unwrap();
        assert_eq!(tcp.interface, "127.0.0.1");
        assert_eq!(tcp.port, 0);
        assert_eq!(tcp.backlog, 10);
        assert_eq!(config.ignored, [format!("{T}.endpoint.shared")]);
        let config = load(&endpoint(r#"{"type": "tcp", "port": 1, "version": 6}"#));
        assert_eq!(
            config.workers[0].transports[0]
                .endpoint
                .tcp()
                .unwrap()
                .interface,
            "::"
        );

        let e = |json: &str| error(&endpoint(json));
        assert_eq!(
            e(r#"{"type": "tcp"}"#),
            format!("{T}.endpoint.port: required key is missing")
        );
        assert_eq!(
            e(r#"{"type": "tcp", "port": 65536}"#),
            format!("{T}.endpoint.port: 65536 is out of range (0..=65535)")
        );
        assert_eq!(
            e(r#"{"type": "tcp", "port": -1}"#),
            format!("{T}.endpoint.port: expected a non-negative integer, found a negative number")
        );
        assert_eq!(
            e(r#"{"type": "unix", "path": "/tmp/s"}"#),
            format!(
                "{T}.endpoint.type: endpoint type \"unix\" is only supported on rawsocket transports (yet)"
            )
        );
        assert_eq!(
            e(r#"{"type": "tcp", "port": 1, "version": 5}"#),
            format!("{T}.endpoint.version: expected 4 or 6, found 5")
        );
        assert_eq!(
            e(r#"{"type": "tcp", "port": 1, "interface": "localhost"}"#),
            format!("{T}.endpoint.interface: \"localhost\" is not an IP address")
        );
        assert!(
            e(r#"{"type": "tcp", "port": 1, "host": "x"}"#)
                .starts_with(&format!("{T}.endpoint.host: unknown key"))
        );
        assert_eq!(
            error(&worker(REALM1, r#"{"type": "websocket"}"#)),
            format!("{T}.endpoint: required key is missing")
        );
    }

    #[test]
    fn crossbar_endpoint_extras() {
        let config = load(&endpoint(
            r#"{"type": "tcp", "port": 1, "user_timeout": 10}"#,
        ));
        assert_eq!(config.ignored, [format!("{T}.endpoint.user_timeout")]);
        assert_eq!(
            error(&endpoint(r#"{"type": "tcp", "portrange": [8000, 8010]}"#)),
            format!("{T}.endpoint.portrange: port ranges are not supported yet")
        );
        let env = |name: &str| match name {
            "PORT" => Some("8123".to_string()),
            "BAD" => Some("eighty".to_string()),
            _ => None,
        };
        let port = |json: &str| {
            load_str_with_env(&endpoint(json), &env)
                .map(|c| c.workers[0].transports[0].endpoint.tcp().unwrap().port)
        };
        assert_eq!(port(r#"{"type": "tcp", "port": "$PORT"}"#), Ok(8123));
        let err = |json: &str| port(json).unwrap_err().to_string();
        assert_eq!(
            err(r#"{"type": "tcp", "port": "$NOPE"}"#),
            format!("{T}.endpoint.port: environment variable NOPE is not set")
        );
        assert_eq!(
            err(r#"{"type": "tcp", "port": "$BAD"}"#),
            format!(
                "{T}.endpoint.port: environment variable BAD is not a port number (0..=65535): \"eighty\""
            )
        );
        assert_eq!(
            err(r#"{"type": "tcp", "port": "8080"}"#),
            format!(
                "{T}.endpoint.port: expected a port number or \"$NAME\" of an environment variable"
            )
        );
    }

    #[test]
    fn cookie_tracking_and_bad_path_keys() {
        assert_eq!(
            error(&websocket(r#""cookie": {"length": 65}"#)),
            format!("{T}.cookie.length: 65 is out of range (6..=64)")
        );
        assert_eq!(
            error(&web(
                r#""ws": {"type": "websocket", "cookie": {"max_age": 0}}"#
            )),
            format!("{T}.paths.ws.cookie.max_age: 0 is out of range (1..=315360000)")
        );
        assert_eq!(
            error(&web(r#""w s": {"type": "websocket"}"#)),
            format!("{T}.paths.w s: \"w s\" is not a valid URL path")
        );
    }

    #[test]
    fn transport_types() {
        for kind in ["mqtt", "websocket.testee", "stream_testee"] {
            assert_eq!(
                error(&worker(
                    REALM1,
                    &format!(r#"{{"type": "{kind}", "endpoint": {{"type": "tcp", "port": 1}}}}"#)
                )),
                format!("{T}.type: transport type \"{kind}\" is not supported yet")
            );
        }
        assert_eq!(
            error(&worker(REALM1, r#"{"type": "websockets"}"#)),
            format!(
                "{T}.type: unknown transport type \"websockets\" (expected websocket, web, rawsocket or universal)"
            )
        );
        assert!(
            error(&websocket(r#""paths": {}"#)).starts_with(&format!("{T}.paths: unknown key"))
        );
        let config = load(&websocket(
            r#""url": "ws://localhost:8080", "debug": true, "id": "t1""#,
        ));
        assert_eq!(
            config.ignored,
            [format!("{T}.url"), format!("{T}.debug"), format!("{T}.id")]
        );
    }

    #[test]
    fn web_paths_are_normalised() {
        let config = load(&web(
            r#""/": {"type": "websocket"}, "ws": {"type": "websocket"}, "a/b": {"type": "websocket-testee", "options": {"max_message_size": 100}}"#,
        ));
        let TransportKind::Web { paths, .. } = &config.workers[0].transports[0].kind else {
            panic!("expected web")
        };
        assert_eq!(paths.keys().collect::<Vec<_>>(), ["/", "/a/b", "/ws"]);
        match &paths["/a/b"] {
            PathService::WebSocketTestee(options) => assert_eq!(options.max_message_size, 100),
            other => panic!("expected a testee, got {other:?}"),
        }
    }

    #[test]
    fn web_errors() {
        assert_eq!(
            error(&web(
                r#""/ws": {"type": "websocket"}, "ws": {"type": "websocket"}"#
            )),
            format!("{T}.paths.ws: path \"/ws\" is defined twice (as \"/ws\" and \"ws\")")
        );
        assert_eq!(
            error(&web("")),
            format!("{T}.paths: a web transport needs at least one path")
        );
        assert_eq!(
            error(&worker(
                REALM1,
                r#"{"type": "web", "endpoint": {"type": "tcp", "port": 1}}"#
            )),
            format!("{T}.paths: required key is missing")
        );
        assert_eq!(
            error(&web(r#""/": {"type": "catalog", "directory": ".."}"#)),
            format!("{T}.paths./.type: path type \"catalog\" is not supported yet")
        );
        // The list of expected types grows with each path type; its start is enough here.
        assert!(
            error(&web(r#""ws": {"type": "websocet"}"#)).starts_with(&format!(
                "{T}.paths.ws.type: unknown path type \"websocet\" (expected websocket, websocket-testee, longpoll, static"
            ))
        );
        assert!(
            error(&web(r#""ws": {"type": "websocket", "directory": "."}"#))
                .starts_with(&format!("{T}.paths.ws.directory: unknown key"))
        );
        assert!(
            error(&web(r#""ws": {"type": "websocket-testee", "auth": {}}"#))
                .starts_with(&format!("{T}.paths.ws.auth: unknown key"))
        );
        assert_eq!(
            error(&web(r#""ws": "websocket""#)),
            format!("{T}.paths.ws: expected an object, found a string")
        );
    }

    #[test]
    fn web_transport_options_are_ignored_or_errors() {
        let json = worker(
            REALM1,
            r#"{"type": "web", "endpoint": {"type": "tcp", "port": 1}, "paths": {"ws": {"type": "websocket"}},
                "options": {"access_log": true, "hsts": false}}"#,
        );
        assert_eq!(
            load(&json).ignored,
            [
                format!("{T}.options.access_log"),
                format!("{T}.options.hsts")
            ]
        );
        assert!(
            error(&json.replace("hsts", "hsts_maxage"))
                .starts_with(&format!("{T}.options.hsts_maxage: unknown key"))
        );
    }

    #[test]
    fn serializers() {
        let config = load(&web(
            r#""ws": {"type": "websocket", "serializers": ["msgpack", "json"]}"#,
        ));
        assert_eq!(
            service(&config).serializers,
            [SerializerName::MsgPack, SerializerName::Json]
        );
        let config = load(&web(
            r#""ws": {"type": "websocket", "serializers": ["cbor", "json"]}"#,
        ));
        assert_eq!(
            service(&config).serializers,
            [SerializerName::Cbor, SerializerName::Json]
        );
        let e = |list: &str| {
            error(&web(&format!(
                r#""ws": {{"type": "websocket", "serializers": {list}}}"#
            )))
        };
        let at = format!("{T}.paths.ws.serializers");
        assert_eq!(
            e("[]"),
            format!("{at}: at least one serializer is required (json, msgpack, cbor)")
        );
        for name in ["ubjson", "flatbuffers"] {
            assert_eq!(
                e(&format!(r#"["json", "{name}"]"#)),
                format!("{at}[1]: serializer \"{name}\" is not supported yet")
            );
        }
        assert_eq!(
            e(r#"["jsn"]"#),
            format!("{at}[0]: unknown serializer \"jsn\" (expected json, msgpack or cbor)")
        );
        assert_eq!(
            e(r#"["json", "json"]"#),
            format!("{at}[1]: serializer listed twice")
        );
        assert_eq!(
            e(r#""json""#),
            format!("{at}: expected an array, found a string")
        );
    }

    #[test]
    fn websocket_options() {
        let o = options(
            r#"{"max_message_size": 2000, "auto_ping_interval": 10000, "auto_ping_size": 12,
                "allowed_origins": ["https://*.example.com"], "allow_null_origin": false,
                "open_handshake_timeout": 2500, "max_outbound_queue": 10,
                "max_outbound_bytes": 4096, "join_timeout": 3000, "max_failed_logins": 0,
                "require_websocket_subprotocol": false, "enable_webstatus": false}"#,
        );
        assert_eq!(
            o,
            WebSocketOptions {
                max_message_size: 2000,
                max_frame_size: 2000,
                auto_ping_interval: Some(Duration::from_secs(10)),
                auto_ping_timeout: Some(Duration::from_secs(10)),
                auto_ping_size: 12,
                allowed_origins: Some(vec!["https://*.example.com".into()]),
                allow_null_origin: false,
                open_handshake_timeout: Duration::from_millis(2500),
                max_outbound_queue: 10,
                max_outbound_bytes: 4096,
                join_timeout: Duration::from_secs(3),
                max_failed_logins: 0,
                require_subprotocol: false,
                status_page: false,
            }
        );
        let o = options(
            r#"{"max_frame_size": 100, "auto_ping_interval": 1000, "auto_ping_timeout": 500}"#,
        );
        assert_eq!((o.max_message_size, o.max_frame_size), (1024 * 1024, 100));
        assert_eq!(o.auto_ping_timeout, Some(Duration::from_millis(500)));
        let o = options(r#"{"auto_ping_interval": 0}"#);
        assert_eq!((o.auto_ping_interval, o.auto_ping_timeout), (None, None));
    }

    #[test]
    fn websocket_options_ignored_and_errors() {
        let config = load(&websocket(
            r#""options": {"enable_webstatus": false, "utf8validation": true, "fail_by_drop": true}"#,
        ));
        assert_eq!(
            config.ignored,
            [
                format!("{T}.options.utf8validation"),
                format!("{T}.options.fail_by_drop"),
            ]
        );
        let e = |json: &str| error(&websocket(&format!(r#""options": {json}"#)));
        let at = format!("{T}.options");
        assert_eq!(
            e(r#"{"compression": true}"#),
            format!("{at}.compression: expected an object, found a boolean")
        );
        assert_eq!(
            e(r#"{"enable_webstatus": 1}"#),
            format!("{at}.enable_webstatus: expected true or false, found a number")
        );
        assert!(e(r#"{"max_mesage_size": 1}"#).starts_with(&format!(
            "{at}.max_mesage_size: unknown key (allowed here: max_message_size"
        )));
        assert_eq!(
            e(r#"{"max_message_size": -5}"#),
            format!(
                "{at}.max_message_size: expected a non-negative integer, found a negative number"
            )
        );
        assert_eq!(
            e(r#"{"auto_ping_interval": 1.5}"#),
            format!(
                "{at}.auto_ping_interval: expected a non-negative integer, found a fractional number"
            )
        );
        assert_eq!(
            e(r#"{"max_message_size": 0}"#),
            format!("{at}.max_message_size: must be at least 1, found 0")
        );
        assert_eq!(
            e(r#"{"max_outbound_queue": 0}"#),
            format!("{at}.max_outbound_queue: must be at least 1, found 0")
        );
        assert_eq!(
            e(r#"{"auto_ping_size": 200}"#),
            format!("{at}.auto_ping_size: 200 is out of range (4..=125)")
        );
        assert_eq!(
            e(r#"{"auto_ping_size": 3}"#),
            format!("{at}.auto_ping_size: 3 is out of range (4..=125)")
        );
        assert_eq!(
            e(r#"{"allowed_origins": ["a", 1]}"#),
            format!("{at}.allowed_origins[1]: expected a string, found a number")
        );
        assert_eq!(
            e(r#"{"allow_null_origin": "yes"}"#),
            format!("{at}.allow_null_origin: expected true or false, found a string")
        );
        assert_eq!(
            e(r#"[]"#),
            format!("{at}: expected an object, found an array")
        );
    }

    /// A `web` transport on `endpoint` (JSON) with one WebSocket path.
    fn web_on(endpoint: &str) -> String {
        worker(
            REALM1,
            &format!(
                r#"{{"type": "web", "endpoint": {endpoint}, "paths": {{"ws": {{"type": "websocket"}}}}}}"#
            ),
        )
    }

    fn tls_of(config: &crate::config::Config) -> TlsFiles {
        config.workers[0].transports[0]
            .endpoint
            .tls()
            .cloned()
            .expect("a TLS endpoint")
    }

    /// A folder with `server.crt` and `server.key` (content is not looked at during load).
    fn pem_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("server.crt"),
            "-----BEGIN CERTIFICATE-----\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("server.key"),
            "-----BEGIN PRIVATE KEY-----\n",
        )
        .unwrap();
        dir
    }

    fn tls_endpoint(certificate: &Path, key: &Path) -> String {
        serde_json::json!({
            "type": "tcp", "port": 8443,
            "tls": {"certificate": certificate, "key": key}
        })
        .to_string()
    }

    #[test]
    fn tls_endpoints_on_web_and_websocket_transports() {
        let dir = pem_folder();
        let crt = dir.path().join("server.crt");
        let key = dir.path().join("server.key");
        let expected = TlsFiles {
            certificate: crt.clone(),
            key: key.clone(),
            chain: Vec::new(),
            ca_certificates: Vec::new(),
        };
        let config = load(&web_on(&tls_endpoint(&crt, &key)));
        assert_eq!(tls_of(&config), expected);
        assert_eq!(
            config.workers[0].transports[0].endpoint.tcp().unwrap().port,
            8443
        );
        let config = load(&endpoint(&tls_endpoint(&crt, &key)));
        assert!(matches!(
            config.workers[0].transports[0].kind,
            TransportKind::WebSocket(_)
        ));
        assert_eq!(tls_of(&config), expected);
    }

    #[test]
    fn tls_relative_paths() {
        // load_str: relative to the current directory (cargo runs tests in the crate root).
        let config = load(&web_on(
            r#"{"type": "tcp", "port": 1, "tls": {"certificate": "Cargo.toml", "key": "./Cargo.toml"}}"#,
        ));
        let tls = tls_of(&config);
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(tls.certificate, cwd.join("Cargo.toml"));
        assert!(tls.key.is_absolute() && tls.key.ends_with("Cargo.toml"));

        // load_file: relative to the config file's folder, whatever the current directory.
        let dir = pem_folder();
        std::fs::create_dir(dir.path().join("conf")).unwrap();
        let path = dir.path().join("conf").join("config.json");
        std::fs::write(
            &path,
            web_on(
                r#"{"type": "tcp", "port": 1, "tls": {"certificate": "../server.crt", "key": "../server.key"}}"#,
            ),
        )
        .unwrap();
        let tls = tls_of(&crate::config::load_file(&path).unwrap());
        assert_eq!(
            std::fs::canonicalize(&tls.certificate).unwrap(),
            std::fs::canonicalize(dir.path().join("server.crt")).unwrap()
        );
        assert!(tls.certificate.is_absolute() && tls.key.is_absolute());
        assert!(tls.key.starts_with(dir.path()));

        // The same relative names in load_str are looked up in the current directory.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            error(&text).starts_with(&format!(
                "{T}.endpoint.tls.certificate: cannot read \"{}\": ",
                cwd.join("../server.crt").display()
            )),
            "{}",
            error(&text)
        );
    }

    #[test]
    fn tls_dhparam_and_ciphers_are_listed_with_why_they_do_nothing() {
        let dir = pem_folder();
        let tls = serde_json::json!({
            "certificate": dir.path().join("server.crt"), "key": dir.path().join("server.key"),
            "chain_certificates": [dir.path().join("server.crt")],
            "dhparam": "dh.pem", "ciphers": "ECDH+AESGCM"
        });
        let config = load(&web_on(&format!(
            r#"{{"type": "tcp", "port": 1, "tls": {tls}}}"#
        )));
        let at = "workers[0].transports[0].endpoint.tls";
        assert_eq!(
            config.ignored,
            [
                format!("{at}.dhparam (rustls uses ECDHE only, no DH parameters)"),
                format!("{at}.ciphers (rustls offers only forward-secret AEAD suites)"),
            ]
        );
        assert_eq!(tls_of(&config).chain, [dir.path().join("server.crt")]);
    }

    #[test]
    fn tls_errors() {
        let dir = pem_folder();
        let crt = dir.path().join("server.crt");
        let key = dir.path().join("server.key");
        let at = format!("{T}.endpoint.tls");
        let e = |tls: &str| {
            error(&web_on(&format!(
                r#"{{"type": "tcp", "port": 1, "tls": {tls}}}"#
            )))
        };
        let with = |extra: &str| {
            let mut tls = serde_json::json!({"certificate": crt, "key": key});
            let extra: serde_json::Value = serde_json::from_str(extra).unwrap();
            tls.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            e(&tls.to_string())
        };
        let missing = dir.path().join("missing.crt");
        let message = error(&web_on(&tls_endpoint(&missing, &key)));
        assert!(
            message.starts_with(&format!(
                "{at}.certificate: cannot read \"{}\": ",
                missing.display()
            )),
            "{message}"
        );
        let message = error(&web_on(&tls_endpoint(&crt, &missing)));
        assert!(
            message.starts_with(&format!(
                "{at}.key: cannot read \"{}\": ",
                missing.display()
            )),
            "{message}"
        );
        assert_eq!(
            error(&web_on(&tls_endpoint(&crt, dir.path()))),
            format!("{at}.key: \"{}\" is not a file", dir.path().display())
        );
        assert_eq!(
            e(&serde_json::json!({"certificate": crt}).to_string()),
            format!("{at}.key: required key is missing")
        );
        assert_eq!(
            e(&serde_json::json!({"key": key}).to_string()),
            format!("{at}.certificate: required key is missing")
        );
        assert_eq!(
            e(r#"{"certificate": 1, "key": "k"}"#),
            format!("{at}.certificate: expected a string, found a number")
        );
        assert_eq!(
            e(r#"{"certificate": "", "key": "k"}"#),
            format!("{at}.certificate: expected a file name, found an empty string")
        );
        assert_eq!(
            e("true"),
            format!("{at}: expected an object, found a boolean")
        );
        assert_eq!(
            with(r#"{"chain_certificates": ["missing.pem"]}"#)
                .split(':')
                .next(),
            Some(format!("{at}.chain_certificates[0]").as_str())
        );
        assert_eq!(
            with(r#"{"ca_certificates": ["missing-ca.pem"]}"#)
                .split(':')
                .next(),
            Some(format!("{at}.ca_certificates[0]").as_str())
        );
        assert_eq!(
            with(r#"{"cert": "x"}"#),
            format!(
                "{at}.cert: unknown key (allowed here: certificate, key, chain_certificates, \
                 ca_certificates, dhparam, ciphers)"
            )
        );
    }

    #[test]
    fn trusted_proxies() {
        let web_options = |options: &str| {
            worker(
                REALM1,
                &format!(
                    r#"{{"type": "web", "endpoint": {{"type": "tcp", "port": 1}}, "paths": {{"ws": {{"type": "websocket"}}}}, "options": {options}}}"#
                ),
            )
        };
        let options_of =
            |config: &crate::config::Config| match &config.workers[0].transports[0].kind {
                TransportKind::Web { options, .. } => options.clone(),
                _ => panic!("expected web"),
            };
        let config = load(&web(r#""ws": {"type": "websocket"}"#));
        assert_eq!(options_of(&config), WebOptions::default());
        let config = load(&web_options(
            r#"{"trusted_proxies": ["10.0.0.0/8", "::1", "192.168.7.9/255.255.0.0"], "access_log": true}"#,
        ));
        let net = |s: &str| s.parse::<ipnet::IpNet>().unwrap();
        assert_eq!(
            options_of(&config).trusted_proxies,
            [net("10.0.0.0/8"), net("::1/128"), net("192.168.0.0/16")]
        );
        assert_eq!(config.ignored, [format!("{T}.options.access_log")]);
        assert!(
            options_of(&load(&web_options(r#"{"trusted_proxies": []}"#)))
                .trusted_proxies
                .is_empty()
        );
        assert_eq!(
            error(&web_options(
                r#"{"trusted_proxies": ["127.0.0.1", "proxy.local"]}"#
            )),
            format!(
                "{T}.options.trusted_proxies[1]: \"proxy.local\" is not an IP address or network (expected e.g. \"10.0.0.0/8\", \"127.0.0.1\", \"192.168.1.0/255.255.255.0\", \"fe80::/10\")"
            )
        );
        assert_eq!(
            error(&web_options(
                r#"{"trusted_proxies": ["10.0.0.0/255.255.0.255"]}"#
            )),
            format!(
                "{T}.options.trusted_proxies[0]: \"10.0.0.0/255.255.0.255\": netmask 255.255.0.255 is not contiguous"
            )
        );
        assert_eq!(
            error(&web_options(r#"{"trusted_proxies": "10.0.0.0/8"}"#)),
            format!("{T}.options.trusted_proxies: expected an array, found a string")
        );
        assert!(
            error(&web_options(r#"{"trusted_proxy": []}"#)).starts_with(&format!(
                "{T}.options.trusted_proxy: unknown key (allowed here: trusted_proxies, client_timeout, body_timeout, access_log"
            ))
        );
        let config = load(&web_options(
            r#"{"client_timeout": 30, "body_timeout": 2500}"#,
        ));
        let options = options_of(&config);
        assert_eq!(
            (options.client_timeout, options.body_timeout),
            (Duration::from_secs(30), Duration::from_millis(2500))
        );
        assert_eq!(
            error(&web_options(r#"{"body_timeout": 0}"#)),
            format!("{T}.options.body_timeout: must be at least 1, found 0")
        );
        // trusted_proxies is a web transport option, not a WebSocket one.
        assert!(
            error(&websocket(r#""options": {"trusted_proxies": []}"#))
                .starts_with(&format!("{T}.options.trusted_proxies: unknown key"))
        );
    }
}
