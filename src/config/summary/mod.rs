//! The one-screen summary printed by `junction check`: what Junction will run from a config,
//! and which keys it accepted without effect. Secrets are never shown (only authids and roles).
//!
//! This file writes the whole and the realms; [`transport`] the transports, their paths and
//! options, [`auth`] the authentication methods of a service, [`proxy`] the reverse proxy paths.

mod auth;
mod cluster;
mod proxy;
mod transport;
mod web_files;
mod worker;

pub use transport::path_headline;
use transport::transport_summary;

use std::fmt::Write;

use crate::config::model::{
    BodyShape, Config, HttpSubscriberConfig, PermissionConfig, RealmConfig, RequestMapping,
    StoreConfig, SubscriberMethod, UriCheck,
};
use crate::wamp::uri::MatchPolicy;

pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    if config.workers.is_empty() {
        out.push_str("no router workers\n");
    }
    for worker in &config.workers {
        line(&mut out, 0, format!("{} (router)", worker.path));
        if let Some(settings) = &worker.cluster {
            line(&mut out, 1, cluster::cluster_line(settings));
        }
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
    worker::guests_summary(&mut out, config);
    worker::not_run_summary(&mut out, config);
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
        let by_default = if role.allow_by_default {
            " (allow-by-default: what no permission matches is allowed)"
        } else {
            ""
        };
        if role.permissions.is_empty() {
            let none = if role.allow_by_default {
                by_default
            } else {
                ": no permissions"
            };
            line(out, 2, format!("role {}{none}", role.name));
            continue;
        }
        line(out, 2, format!("role {}{by_default}", role.name));
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
    for callee in &realm.http_callees {
        let url = crate::config::topic::redact_url(callee.url.as_str());
        let request = match callee.mapping {
            RequestMapping::CrossbarRest => format!("Crossbar RESTCallee below {url}"),
            mapping => format!("{} {url}, body {}", callee.method.name(), mapping.name()),
        };
        line(
            out,
            2,
            format!(
                "http callee {} ({}): {request}, as role {}, timeout {} s, at most {} at a time",
                callee.procedure,
                policy_name(callee.policy),
                callee.role,
                callee.timeout.as_secs(),
                callee.concurrency
            ),
        );
    }
    for subscriber in &realm.http_subscribers {
        line(out, 2, http_subscriber_summary(subscriber));
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
    for rule in &realm.call_queue {
        line(
            out,
            2,
            format!(
                "call queue: {} ({}), up to {} calls waiting for a callee",
                rule.uri,
                policy_name(rule.policy),
                rule.limit
            ),
        );
    }
}

/// One HTTP subscriber: topic, target (no query string) and the options in force; never a
/// header value or secret.
fn http_subscriber_summary(s: &HttpSubscriberConfig) -> String {
    let method = match s.method {
        SubscriberMethod::Post => "POST",
        SubscriberMethod::Put => "PUT",
    };
    let mut text = format!(
        "http subscriber {}: {} ({}) as role {} -> {method} {}, {} attempts, queue {}",
        s.name,
        s.topic,
        policy_name(s.policy),
        s.role,
        s.url_shown,
        s.retry.max_attempts,
        s.queue
    );
    if let Some(batch) = s.batch {
        text += &format!(
            ", batches of up to {} events within {} ms",
            batch.max_events,
            batch.max_delay.as_millis()
        );
    }
    if s.signature.is_some() {
        text += ", signed";
    }
    if s.body == BodyShape::Crossbar {
        text += ", Crossbar body";
    }
    text
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

fn or_none(items: Vec<String>) -> String {
    if items.is_empty() {
        "no principals".to_string()
    } else {
        items.join(", ")
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
                               "options": {"auto_ping_interval": 5000, "max_message_size": 65536, "fail_by_drop": false}},
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
ignored (no effect in Junction): controller, workers[0].options, workers[0].realms[0].roles[0].permissions[0].cache, workers[0].transports[0].paths.ws.options.fail_by_drop
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
