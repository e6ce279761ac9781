//! The one-screen summary printed by `junction check`: what Junction will run from a config,
//! and which keys it accepted without effect. Secrets are never shown (only authids and roles).

use std::fmt::Write;
use std::time::Duration;

use std::collections::BTreeMap;

use crate::config::endpoint::DEFAULT_MAX_CONNECTIONS_PER_IP;
use crate::config::model::{
    AuthConfig, BridgeOptions, Config, Endpoint, PathService, PermissionConfig, RawSocketOptions,
    RawSocketService, RealmConfig, StoreConfig, TransportConfig, TransportKind, UriCheck,
    WebOptions, WebSocketOptions, WebSocketService, WebhookService,
};
use crate::config::rawsocket::default_rawsocket_options;
use crate::config::websocket::default_websocket_options;
use crate::wamp::uri::MatchPolicy;

pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    if config.workers.is_empty() {
        out.push_str("no router workers\n");
    }
    for (i, worker) in config.workers.iter().enumerate() {
        line(&mut out, 0, format!("workers[{i}] (router)"));
        if worker.realms.is_empty() {
            line(&mut out, 1, "no realms");
        }
        for realm in &worker.realms {
            realm_summary(&mut out, realm);
        }
        if worker.transports.is_empty() {
            line(&mut out, 1, "no transports");
        }
        for transport in &worker.transports {
            transport_summary(&mut out, transport);
        }
    }
    let ignored = if config.ignored.is_empty() {
        "none".to_string()
    } else {
        config.ignored.join(", ")
    };
    line(
        &mut out,
        0,
        format!("ignored (no effect in Junction): {ignored}"),
    );
    out
}

fn line(out: &mut String, depth: usize, text: impl AsRef<str>) {
    let _ = writeln!(out, "{:width$}{}", "", text.as_ref(), width = depth * 2);
}

fn realm_summary(out: &mut String, realm: &RealmConfig) {
    let check = match realm.uri_check {
        UriCheck::Loose => "loose",
        UriCheck::Strict => "strict",
    };
    line(out, 1, format!("realm {} (uri_check {check})", realm.name));
    if realm.roles.is_empty() {
        line(out, 2, "no roles");
    }
    for role in &realm.roles {
        if role.permissions.is_empty() {
            line(out, 2, format!("role {}: no permissions", role.name));
            continue;
        }
        line(out, 2, format!("role {}", role.name));
        for permission in &role.permissions {
            line(out, 3, permission_summary(permission));
        }
    }
    for definition in &realm.topics {
        let topic = &definition.topic;
        line(
            out,
            2,
            format!(
                "topic {}: http-poller every {:?} from {}{}",
                topic.name,
                topic.poller.polling_period,
                crate::config::topic::redact_url(topic.poller.url.as_str()),
                if topic.always_on { ", always on" } else { "" }
            ),
        );
    }
    match &realm.store {
        Some(StoreConfig::Memory) => line(out, 2, "store: memory"),
        Some(StoreConfig::Embedded { path }) => {
            line(out, 2, format!("store: embedded {}", path.display()))
        }
        None => {}
    }
    for rule in &realm.event_history {
        line(
            out,
            2,
            format!(
                "event history: {} ({}), last {} events",
                rule.uri,
                policy_name(rule.policy),
                rule.limit
            ),
        );
    }
}

fn permission_summary(p: &PermissionConfig) -> String {
    let policy = match p.match_policy {
        Some(policy) => policy_name(policy).to_string(),
        None => format!("{} (from stars)", policy_name(starred_policy(&p.uri))),
    };
    let allowed: Vec<&str> = [
        ("call", p.allow.call),
        ("register", p.allow.register),
        ("publish", p.allow.publish),
        ("subscribe", p.allow.subscribe),
    ]
    .iter()
    .filter(|(_, allowed)| *allowed)
    .map(|(action, _)| *action)
    .collect();
    let allowed = if allowed.is_empty() {
        "nothing".to_string()
    } else {
        allowed.join(", ")
    };
    let disclose: Vec<String> = [
        ("caller", p.disclose.caller),
        ("publisher", p.disclose.publisher),
    ]
    .iter()
    .filter_map(|(who, disclose)| disclose.map(|d| format!("{who} {d}")))
    .collect();
    let mut text = format!("\"{}\" {policy}: allow {allowed}", p.uri);
    if !disclose.is_empty() {
        let _ = write!(text, "; disclose {}", disclose.join(", "));
    }
    text
}

/// Crossbar's reading of a URI without `match`: no star = exact, one trailing star = prefix,
/// otherwise wildcard. Shown for information; the authorizer applies the same rule.
fn starred_policy(uri: &str) -> MatchPolicy {
    match uri.matches('*').count() {
        0 => MatchPolicy::Exact,
        1 if uri.ends_with('*') => MatchPolicy::Prefix,
        _ => MatchPolicy::Wildcard,
    }
}

fn policy_name(policy: MatchPolicy) -> &'static str {
    match policy {
        MatchPolicy::Exact => "exact",
        MatchPolicy::Prefix => "prefix",
        MatchPolicy::Wildcard => "wildcard",
    }
}

fn transport_summary(out: &mut String, transport: &TransportConfig) {
    let address = address(&transport.endpoint);
    // `https` / `wss` plus the certificate, so a missing `tls` block is easy to spot.
    let tls = |scheme: &str| match transport.endpoint.tls() {
        Some(tls) => format!(
            " ({scheme}, tls certificate {}, key {})",
            tls.certificate.display(),
            tls.key.display()
        ),
        None => String::new(),
    };
    // Connection limits that differ from the defaults follow the headline.
    let limits = |out: &mut String| {
        let Some(tcp) = transport.endpoint.tcp() else {
            return;
        };
        let mut notable = Vec::new();
        if let Some(max) = tcp.max_connections {
            notable.push(format!("max_connections {max}"));
        }
        if tcp.max_connections_per_ip != DEFAULT_MAX_CONNECTIONS_PER_IP {
            notable.push(format!(
                "max_connections_per_ip {}",
                tcp.max_connections_per_ip
            ));
        }
        if !notable.is_empty() {
            line(out, 2, format!("endpoint: {}", notable.join(", ")));
        }
    };
    match &transport.kind {
        TransportKind::WebSocket(service) => {
            line(
                out,
                1,
                format!(
                    "transport {}: websocket on {address}{}",
                    transport.path,
                    tls("wss")
                ),
            );
            limits(out);
            service_summary(out, 2, service);
        }
        TransportKind::Web { paths, options } => {
            line(
                out,
                1,
                format!(
                    "transport {}: web on {address}{}",
                    transport.path,
                    tls("https")
                ),
            );
            limits(out);
            web_options_summary(out, 2, options);
            paths_summary(out, 2, paths);
        }
        TransportKind::RawSocket(service) => {
            line(
                out,
                1,
                format!(
                    "transport {}: rawsocket on {address}{}",
                    transport.path,
                    tls("tls")
                ),
            );
            limits(out);
            rawsocket_summary(out, 2, service);
        }
        TransportKind::Universal {
            rawsocket,
            paths,
            options,
        } => {
            line(
                out,
                1,
                format!(
                    "transport {}: universal on {address}{}",
                    transport.path,
                    tls("tls, https, wss")
                ),
            );
            limits(out);
            web_options_summary(out, 2, options);
            match rawsocket {
                Some(service) => {
                    line(out, 2, "rawsocket (first octet 0x7F)");
                    rawsocket_summary(out, 3, service);
                }
                None => line(out, 2, "no rawsocket (a first octet 0x7F is closed)"),
            }
            paths_summary(out, 2, paths);
        }
    }
}

fn paths_summary(out: &mut String, depth: usize, paths: &BTreeMap<String, PathService>) {
    for (path, service) in paths {
        line(out, depth, path_headline(path, service));
        match service {
            PathService::WebSocket(service) => service_summary(out, depth + 1, service),
            PathService::WebSocketTestee(options) => options_summary(out, depth + 1, options),
            PathService::Publisher(publisher) => {
                bridge_summary(out, depth + 1, &publisher.options, None)
            }
            PathService::Caller(caller) => {
                bridge_summary(out, depth + 1, &caller.options, Some(caller.timeout))
            }
            PathService::TopicsApi(_) => {}
            PathService::Webhook(webhook) => webhook_summary(out, depth + 1, webhook),
        }
    }
}

/// One line naming what a path serves: the first line `check` shows for it, and what `start`
/// logs under "listening on".
pub fn path_headline(path: &str, service: &PathService) -> String {
    match service {
        PathService::WebSocket(_) => format!("{path}: websocket"),
        PathService::WebSocketTestee(_) => format!("{path}: websocket-testee (echo)"),
        PathService::Publisher(publisher) => format!(
            "{path}: publisher (realm {}, role {})",
            publisher.realm, publisher.role
        ),
        PathService::Caller(caller) => format!(
            "{path}: caller (realm {}, role {})",
            caller.realm, caller.role
        ),
        PathService::TopicsApi(api) => {
            let mut guards = Vec::new();
            if api.bearer_token.is_some() {
                guards.push("bearer token".to_string());
            }
            if let Some(networks) = &api.require_ip {
                guards.push(format!("require_ip {}", nets(networks)));
            }
            format!(
                "{path}: topics-api (realm {}; {})",
                api.realm,
                guards.join(", ")
            )
        }
        PathService::Webhook(webhook) => format!(
            "{path}: webhook (realm {}, role {})",
            webhook.realm, webhook.role
        ),
    }
}

/// Serializers, auth, and the options: the announced maximum message length always (the
/// file's value is rounded), the others when they differ from the defaults.
fn rawsocket_summary(out: &mut String, depth: usize, service: &RawSocketService) {
    let serializers: Vec<&str> = service.serializers.iter().map(|s| s.as_str()).collect();
    line(
        out,
        depth,
        format!("serializers: {}", serializers.join(", ")),
    );
    auth_summary(out, depth, &service.auth);
    let options = &service.options;
    let mut notable = vec![format!(
        "max_message_size {} (length exponent {})",
        options.max_message_size,
        options.length_exponent()
    )];
    let shared = |o: &RawSocketOptions| Shared {
        auto_ping: (o.auto_ping_interval, o.auto_ping_timeout),
        auto_ping_size: o.auto_ping_size,
        open_handshake_timeout: o.open_handshake_timeout,
        max_outbound_queue: o.max_outbound_queue,
        max_outbound_bytes: o.max_outbound_bytes,
        join_timeout: o.join_timeout,
        max_failed_logins: o.max_failed_logins,
    };
    shared_summary(
        &mut notable,
        &shared(options),
        &shared(&default_rawsocket_options()),
    );
    line(out, depth, format!("options: {}", notable.join(", ")));
}

fn web_options_summary(out: &mut String, depth: usize, options: &WebOptions) {
    if !options.trusted_proxies.is_empty() {
        line(
            out,
            depth,
            format!("trusted_proxies: {}", nets(&options.trusted_proxies)),
        );
    }
    let defaults = WebOptions::default();
    let mut notable = Vec::new();
    if options.client_timeout != defaults.client_timeout {
        notable.push(format!(
            "client_timeout {} s",
            options.client_timeout.as_secs()
        ));
    }
    if options.body_timeout != defaults.body_timeout {
        notable.push(format!(
            "body_timeout {} ms",
            options.body_timeout.as_millis()
        ));
    }
    if !notable.is_empty() {
        line(out, depth, format!("options: {}", notable.join(", ")));
    }
}

fn nets(nets: &[ipnet::IpNet]) -> String {
    nets.iter()
        .map(|net| net.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// 0 is "no limit of its own" (the server's hard cap still applies).
fn body_limit(limit: usize) -> String {
    match limit {
        0 => "post_body_limit none (server cap only)".to_string(),
        n => format!("post_body_limit {n} bytes"),
    }
}

/// A publisher's or caller's options; the key name is shown, never the secret.
fn bridge_summary(
    out: &mut String,
    depth: usize,
    options: &BridgeOptions,
    timeout: Option<Duration>,
) {
    let signing = match &options.signing {
        Some(signing) => format!("signed (key {})", signing.key),
        None => "unsigned".to_string(),
    };
    let require_ip = match &options.require_ip {
        Some(list) => format!("require_ip [{}]", nets(list)),
        None => "require_ip any".to_string(),
    };
    let mut parts = vec![
        signing,
        body_limit(options.post_body_limit),
        format!(
            "timestamp_delta_limit {}",
            options
                .timestamp_delta_limit
                .map_or("none".to_owned(), |window| format!(
                    "{} s",
                    window.as_secs()
                ))
        ),
        require_ip,
        format!("require_tls {}", options.require_tls),
        format!("success_status {}", options.success_status),
    ];
    if options.strict_status {
        parts.push("strict_status".to_string());
    }
    if let Some(timeout) = timeout {
        parts.push(format!("timeout {} ms", timeout.as_millis()));
    }
    if options.debug {
        parts.push("debug".to_string());
    }
    line(out, depth, parts.join(", "));
}

fn webhook_summary(out: &mut String, depth: usize, webhook: &WebhookService) {
    let github = match webhook.github_secret {
        Some(_) => "github_secret set",
        None => "no github_secret",
    };
    let decode = if webhook.decode_json {
        "decode json"
    } else {
        "no decode (headers and body)"
    };
    line(
        out,
        depth,
        format!(
            "topic {}, methods [{}], {decode}, {github}, {}",
            webhook.topic,
            webhook.methods.join(", "),
            body_limit(webhook.post_body_limit)
        ),
    );
}

fn address(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Tcp(tcp) if tcp.interface.contains(':') => {
            format!("[{}]:{}", tcp.interface, tcp.port)
        }
        Endpoint::Tcp(tcp) => format!("{}:{}", tcp.interface, tcp.port),
        Endpoint::Unix(unix) => format!("unix socket {}", unix.path.display()),
    }
}

fn service_summary(out: &mut String, depth: usize, service: &WebSocketService) {
    let serializers: Vec<&str> = service.serializers.iter().map(|s| s.as_str()).collect();
    line(
        out,
        depth,
        format!("serializers: {}", serializers.join(", ")),
    );
    auth_summary(out, depth, &service.auth);
    options_summary(out, depth, &service.options);
}

fn auth_summary(out: &mut String, depth: usize, auth: &AuthConfig) {
    if let Some(anonymous) = &auth.anonymous {
        line(
            out,
            depth,
            format!("auth anonymous: role {}", anonymous.role),
        );
    }
    if let Some(ticket) = &auth.ticket {
        let principals: Vec<String> = ticket
            .principals
            .iter()
            .map(|(authid, p)| format!("{authid} (role {})", p.role))
            .collect();
        line(out, depth, format!("auth ticket: {}", or_none(principals)));
    }
    if let Some(wampcra) = &auth.wampcra {
        let users: Vec<String> = wampcra
            .users
            .iter()
            .map(|(authid, user)| match &user.salt {
                Some(_) => format!("{authid} (role {}, salted)", user.role),
                None => format!("{authid} (role {})", user.role),
            })
            .collect();
        line(out, depth, format!("auth wampcra: {}", or_none(users)));
    }
    if let Some(cryptosign) = &auth.cryptosign {
        let principals: Vec<String> = cryptosign
            .principals
            .iter()
            .map(|(authid, p)| {
                let keys = match p.authorized_keys.len() {
                    1 => "1 key".to_string(),
                    n => format!("{n} keys"),
                };
                match &p.realm {
                    Some(realm) => format!("{authid} (role {}, realm {realm}, {keys})", p.role),
                    None => format!("{authid} (role {}, {keys})", p.role),
                }
            })
            .collect();
        line(
            out,
            depth,
            format!("auth cryptosign: {}", or_none(principals)),
        );
    }
}

fn or_none(items: Vec<String>) -> String {
    if items.is_empty() {
        "no principals".to_string()
    } else {
        items.join(", ")
    }
}

/// Only options that differ from the defaults, so the summary stays short.
fn options_summary(out: &mut String, depth: usize, options: &WebSocketOptions) {
    let defaults = default_websocket_options();
    let mut notable = Vec::new();
    if options.max_message_size != defaults.max_message_size {
        notable.push(format!("max_message_size {}", options.max_message_size));
    }
    if options.max_frame_size != options.max_message_size {
        notable.push(format!("max_frame_size {}", options.max_frame_size));
    }
    if let Some(origins) = &options.allowed_origins {
        notable.push(format!("allowed_origins [{}]", origins.join(", ")));
    }
    if !options.allow_null_origin {
        notable.push("allow_null_origin false".to_string());
    }
    let shared = |o: &WebSocketOptions| Shared {
        auto_ping: (o.auto_ping_interval, o.auto_ping_timeout),
        auto_ping_size: o.auto_ping_size,
        open_handshake_timeout: o.open_handshake_timeout,
        max_outbound_queue: o.max_outbound_queue,
        max_outbound_bytes: o.max_outbound_bytes,
        join_timeout: o.join_timeout,
        max_failed_logins: o.max_failed_logins,
    };
    shared_summary(&mut notable, &shared(options), &shared(&defaults));
    if !notable.is_empty() {
        line(out, depth, format!("options: {}", notable.join(", ")));
    }
}

/// The options WebSocket and RawSocket services share.
struct Shared {
    auto_ping: (Option<Duration>, Option<Duration>),
    auto_ping_size: usize,
    open_handshake_timeout: Duration,
    max_outbound_queue: usize,
    max_outbound_bytes: usize,
    join_timeout: Duration,
    max_failed_logins: u32,
}

/// Adds the shared options that differ from `defaults` to `notable`.
fn shared_summary(notable: &mut Vec<String>, options: &Shared, defaults: &Shared) {
    let ms = |d: Duration| format!("{} ms", d.as_millis());
    if let (Some(interval), timeout) = options.auto_ping {
        notable.push(format!("auto_ping_interval {}", ms(interval)));
        match timeout {
            Some(timeout) => notable.push(format!("auto_ping_timeout {}", ms(timeout))),
            None => notable.push("no auto_ping_timeout".to_string()),
        }
    }
    if options.auto_ping_size != defaults.auto_ping_size {
        notable.push(format!("auto_ping_size {}", options.auto_ping_size));
    }
    if options.open_handshake_timeout != defaults.open_handshake_timeout {
        notable.push(format!(
            "open_handshake_timeout {}",
            ms(options.open_handshake_timeout)
        ));
    }
    if options.max_outbound_queue != defaults.max_outbound_queue {
        notable.push(format!("max_outbound_queue {}", options.max_outbound_queue));
    }
    if options.max_outbound_bytes != defaults.max_outbound_bytes {
        notable.push(format!("max_outbound_bytes {}", options.max_outbound_bytes));
    }
    if options.join_timeout != defaults.join_timeout {
        notable.push(format!("join_timeout {}", ms(options.join_timeout)));
    }
    if options.max_failed_logins != defaults.max_failed_logins {
        notable.push(format!("max_failed_logins {}", options.max_failed_logins));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::testing::*;

    #[test]
    fn summary_of_a_full_config() {
        let json = r#"{
            "version": 2,
            "controller": {},
            "workers": [{
                "type": "router",
                "options": {"pythonpath": [".."]},
                "realms": [{
                    "name": "realm1",
                    "options": {"uri_check": "strict"},
                    "roles": [
                        {"name": "anonymous", "permissions": [
                            {"uri": "", "match": "prefix", "allow": {"subscribe": true}, "disclose": {"publisher": true}, "cache": true},
                            {"uri": "com.app.*", "publish": true, "call": true}
                        ]},
                        {"name": "backend"}
                    ]
                }],
                "transports": [
                    {"type": "web", "endpoint": {"type": "tcp", "port": 8080, "interface": "127.0.0.1"},
                     "paths": {
                        "ws": {"type": "websocket", "serializers": ["msgpack"],
                               "auth": {"anonymous": {"type": "static"},
                                        "ticket": {"type": "static", "principals": {"joe": {"ticket": "tkt-secret", "role": "backend"}}},
                                        "wampcra": {"type": "static", "users": {"alice": {"secret": "cra-secret", "role": "backend", "salt": "na"}}}},
                               "options": {"auto_ping_interval": 5000, "max_message_size": 65536, "enable_webstatus": false}},
                        "echo": {"type": "websocket-testee"}
                     }},
                    {"type": "websocket", "endpoint": {"type": "tcp", "port": 9000, "version": 6}}
                ]
            }]
        }"#;
        let text = summary(&load(json));
        let expected = r#"workers[0] (router)
  realm realm1 (uri_check strict)
    role anonymous
      "" prefix: allow subscribe; disclose publisher true
      "com.app.*" prefix (from stars): allow call, publish
    role backend: no permissions
  transport workers[0].transports[0]: web on 127.0.0.1:8080
    /echo: websocket-testee (echo)
    /ws: websocket
      serializers: msgpack
      auth anonymous: role anonymous
      auth ticket: joe (role backend)
      auth wampcra: alice (role backend, salted)
      options: max_message_size 65536, auto_ping_interval 5000 ms, auto_ping_timeout 5000 ms
  transport workers[0].transports[1]: websocket on [::]:9000
    serializers: json, msgpack, cbor
    auth anonymous: role anonymous
ignored (no effect in Junction): controller, workers[0].options, workers[0].realms[0].roles[0].permissions[0].cache, workers[0].transports[0].paths.ws.options.enable_webstatus
"#;
        assert_eq!(text, expected, "\n{text}");
        assert!(
            !text.contains("tkt-secret")
                && !text.contains("cra-secret")
                && !text.contains("\"na\"")
        );
    }

    #[test]
    fn summary_of_bridge_paths_and_tls() {
        let dir = tempfile::tempdir().unwrap();
        let crt = dir.path().join("server.crt");
        let key = dir.path().join("server.key");
        std::fs::write(&crt, "").unwrap();
        std::fs::write(&key, "").unwrap();
        let json = serde_json::json!({
            "workers": [{
                "type": "router",
                "realms": [{"name": "realm1", "roles": [{"name": "anonymous"}, {"name": "backend"}]}],
                "transports": [
                    {"type": "web",
                     "endpoint": {"type": "tcp", "port": 8443, "tls": {"certificate": crt, "key": key}},
                     "options": {"trusted_proxies": ["10.0.0.0/8", "::1"]},
                     "paths": {
                        "push": {"type": "pusher", "realm": "realm1", "role": "anonymous"},
                        "signed": {"type": "publisher", "realm": "realm1", "role": "anonymous",
                                   "options": {"key": "foobar", "secret": "push-secret-xyz",
                                               "post_body_limit": 0, "timestamp_delta_limit": 60,
                                               "require_ip": ["127.0.0.1", "192.168.1.1/255.255.255.0"],
                                               "require_tls": true, "success_status": 200,
                                               "strict_status": true, "debug": true}},
                        "call": {"type": "caller", "realm": "realm1", "role": "backend",
                                 "options": {"timeout": 5000}},
                        "hook": {"type": "webhook", "realm": "realm1", "role": "anonymous",
                                 "options": {"topic": "com.example.hook", "github_secret": "gh-secret-xyz"}},
                        "dev": {"type": "webhook", "realm": "realm1", "role": "anonymous",
                                "options": {"topic": "com.example.dev", "methods": ["post", "put"],
                                            "decode": "json", "post_body_limit": 4096}}
                     }},
                    {"type": "websocket",
                     "endpoint": {"type": "tcp", "port": 9443, "tls": {"certificate": crt, "key": key}}}
                ]
            }]
        })
        .to_string();
        let config = load(&json);
        let text = summary(&config);
        let (crt, key) = (crt.display(), key.display());
        let expected = format!(
            r#"workers[0] (router)
  realm realm1 (uri_check loose)
    role anonymous: no permissions
    role backend: no permissions
  transport workers[0].transports[0]: web on 0.0.0.0:8443 (https, tls certificate {crt}, key {key})
    trusted_proxies: 10.0.0.0/8, ::1/128
    /call: caller (realm realm1, role backend)
      unsigned, post_body_limit 1048576 bytes, timestamp_delta_limit 300 s, require_ip any, require_tls false, success_status 200, timeout 5000 ms
    /dev: webhook (realm realm1, role anonymous)
      topic com.example.dev, methods [POST, PUT], decode json, no github_secret, post_body_limit 4096 bytes
    /hook: webhook (realm realm1, role anonymous)
      topic com.example.hook, methods [POST], no decode (headers and body), github_secret set, post_body_limit 1048576 bytes
    /push: publisher (realm realm1, role anonymous)
      unsigned, post_body_limit 1048576 bytes, timestamp_delta_limit 300 s, require_ip any, require_tls false, success_status 202
    /signed: publisher (realm realm1, role anonymous)
      signed (key foobar), post_body_limit none (server cap only), timestamp_delta_limit 60 s, require_ip [127.0.0.1/32, 192.168.1.0/24], require_tls true, success_status 200, strict_status, debug
  transport workers[0].transports[1]: websocket on 0.0.0.0:9443 (wss, tls certificate {crt}, key {key})
    serializers: json, msgpack, cbor
    auth anonymous: role anonymous
ignored (no effect in Junction): none
"#
        );
        assert_eq!(text, expected, "\n{text}");
        let debug = format!("{config:?}");
        for secret in ["push-secret-xyz", "gh-secret-xyz"] {
            assert!(
                !text.contains(secret) && !debug.contains(secret),
                "{secret}"
            );
        }
    }

    #[test]
    fn summary_of_rawsocket_and_universal_transports() {
        let dir = tempfile::tempdir().unwrap();
        let crt = dir.path().join("server.crt");
        let key = dir.path().join("server.key");
        std::fs::write(&crt, "").unwrap();
        std::fs::write(&key, "").unwrap();
        let socket = dir.path().join("junction.sock");
        let json = serde_json::json!({
            "workers": [{
                "type": "router",
                "realms": [{"name": "realm1", "roles": [{"name": "anonymous"}]}],
                "transports": [
                    {"type": "rawsocket", "endpoint": {"type": "tcp", "port": 9000,
                        "tls": {"certificate": crt, "key": key}},
                     "serializers": ["msgpack", "cbor"], "max_message_size": 1000000,
                     "options": {"auto_ping_interval": 5000, "max_outbound_queue": 100}},
                    {"type": "rawsocket", "endpoint": {"type": "unix", "path": socket}},
                    {"type": "universal", "endpoint": {"type": "tcp", "port": 8080},
                     "rawsocket": {"auth": {"ticket": {"type": "static",
                        "principals": {"joe": {"ticket": "tkt-secret", "role": "anonymous"}}}}},
                     "websocket": {"ws": {"serializers": ["json"]}},
                     "web": {"paths": {"push": {"type": "publisher", "realm": "realm1", "role": "anonymous"}}}},
                    {"type": "universal", "endpoint": {"type": "tcp", "port": 8081},
                     "websocket": {"/": {}}}
                ]
            }]
        })
        .to_string();
        let text = summary(&load(&json));
        let (crt, key, socket) = (crt.display(), key.display(), socket.display());
        let expected = format!(
            r#"workers[0] (router)
  realm realm1 (uri_check loose)
    role anonymous: no permissions
  transport workers[0].transports[0]: rawsocket on 0.0.0.0:9000 (tls, tls certificate {crt}, key {key})
    serializers: msgpack, cbor
    auth anonymous: role anonymous
    options: max_message_size 1048576 (length exponent 11), auto_ping_interval 5000 ms, auto_ping_timeout 5000 ms, max_outbound_queue 100
  transport workers[0].transports[1]: rawsocket on unix socket {socket}
    serializers: json, msgpack, cbor
    auth anonymous: role anonymous
    options: max_message_size 1048576 (length exponent 11)
  transport workers[0].transports[2]: universal on 0.0.0.0:8080
    rawsocket (first octet 0x7F)
      serializers: json, msgpack, cbor
      auth ticket: joe (role anonymous)
      options: max_message_size 1048576 (length exponent 11)
    /push: publisher (realm realm1, role anonymous)
      unsigned, post_body_limit 1048576 bytes, timestamp_delta_limit 300 s, require_ip any, require_tls false, success_status 202
    /ws: websocket
      serializers: json
      auth anonymous: role anonymous
  transport workers[0].transports[3]: universal on 0.0.0.0:8081
    no rawsocket (a first octet 0x7F is closed)
    /: websocket
      serializers: json, msgpack, cbor
      auth anonymous: role anonymous
ignored (no effect in Junction): none
"#
        );
        assert_eq!(text, expected, "\n{text}");
        assert!(!text.contains("tkt-secret"));
    }

    #[test]
    fn summary_of_an_empty_config() {
        assert_eq!(
            summary(&load(r#"{"workers": []}"#)),
            "no router workers\nignored (no effect in Junction): none\n"
        );
    }

    #[test]
    fn starred_policies() {
        assert_eq!(starred_policy("*"), MatchPolicy::Prefix);
        assert_eq!(starred_policy("com.app"), MatchPolicy::Exact);
        assert_eq!(starred_policy("com.*.add"), MatchPolicy::Wildcard);
        assert_eq!(starred_policy("com.*.*"), MatchPolicy::Wildcard);
    }
}
