//! `junction check --config PATH` run as a real process: exit 0 and a summary for a good
//! config, exit 2 and `error: <json path>: <what>` on stderr for a bad one, secrets never shown.

use std::path::Path;
use std::process::{Command, Output};

const GOOD: &str = r#"{
    "$schema": "https://raw.githubusercontent.com/crossbario/crossbar/master/crossbar.json",
    "version": 2,
    "controller": {},
    "workers": [{
        "type": "router",
        "realms": [{
            "name": "realm1",
            "roles": [
                {"name": "anonymous", "permissions": [
                    {"uri": "", "match": "prefix",
                     "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
                     "disclose": {"caller": false, "publisher": false}, "cache": true}
                ]},
                {"name": "frontend", "permissions": [
                    {"uri": "com.app.*", "publish": true, "subscribe": true}
                ]}
            ]
        }],
        "transports": [{
            "type": "web",
            "endpoint": {"type": "tcp", "port": 8080, "interface": "127.0.0.1"},
            "paths": {
                "ws": {
                    "type": "websocket",
                    "serializers": ["json", "msgpack"],
                    "auth": {
                        "anonymous": {"type": "static", "role": "anonymous"},
                        "ticket": {"type": "static", "principals": {
                            "joe": {"ticket": "never-print-this-ticket", "role": "frontend"}
                        }}
                    },
                    "options": {"auto_ping_interval": 10000}
                }
            }
        }]
    }]
}"#;

fn check(dir: &Path, json: &str) -> Output {
    let path = dir.join("config.json");
    std::fs::write(&path, json).expect("write config");
    Command::new(env!("CARGO_BIN_EXE_junction"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("run junction check")
}

#[test]
fn good_config_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let output = check(dir.path(), GOOD);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for expected in [
        "realm realm1",
        "role frontend",
        "workers[0].transports[0]: web on 127.0.0.1:8080",
        "/ws: websocket",
        "auth ticket: joe (role frontend)",
        "ignored (no effect in Junction): $schema, controller",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("never-print-this-ticket") && !stderr.contains("never-print-this-ticket")
    );
}

#[test]
fn a_prefix_permission_ending_inside_a_component_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    // Crossbar's starred form: `com.app*` is the prefix `com.app`, which Crossbar would let
    // grant `com.apple` too; Junction grants by component.
    let moved = GOOD.replace(r#""uri": "com.app.*""#, r#""uri": "com.app*""#);
    let output = check(dir.path(), &moved);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(
        stderr.contains(
            "warning: workers[0].realms[0].roles[1].permissions[0].uri: the prefix \"com.app\" ends inside a URI component"
        ),
        "stderr:\n{stderr}"
    );
    // The config as written (`com.app.*`, and `""` for everything) gets no such warning...
    let output = check(dir.path(), GOOD);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("ends inside a URI component"), "{stderr}");
    // ...but its `""` for anonymous clients grants the session-killing meta procedures
    // (issue 12, item 10).
    assert!(
        stderr.contains(
            "warning: workers[0].realms[0].roles[0]: anonymous sessions get role \"anonymous\", which may call wamp.session.kill, "
        ),
        "{stderr}"
    );
}

/// Issue 12 (a newcomer's first hour): an unknown path type lists the documented `pusher`
/// alias.
#[test]
fn an_unknown_path_type_lists_the_pusher_alias() {
    let dir = tempfile::tempdir().unwrap();
    let bad = GOOD.replace(r#""type": "websocket","#, r#""type": "websocet","#);
    let output = check(dir.path(), &bad);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(
        stderr.contains("publisher (or its alias pusher)"),
        "{stderr}"
    );
}

#[test]
fn bad_config_names_the_json_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad = GOOD.replace(r#""match": "prefix""#, r#""match": "regex""#);
    let output = check(dir.path(), &bad);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(
        stderr.contains(
            "error: workers[0].realms[0].roles[0].permissions[0].match: expected one of exact, prefix, wildcard"
        ),
        "stderr:\n{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn a_bad_scram_kdf_names_the_json_path_and_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let stored = "8dca7f3734b168aaf3c73ae96cb8e6605d6103bc919bc99f7a149936e2be78dc";
    let scram = format!(
        r#""scram": {{"type": "static", "principals": {{"alice": {{
            "kdf": "scrypt", "iterations": 4096, "memory": 512,
            "salt": "ff8d9819fc0e12bf0d24892e45987e24", "stored-key": "{stored}",
            "server-key": "{stored}", "role": "frontend"}}}}}},
        "anonymous""#
    );
    let json = GOOD.replacen(
        r#""anonymous": {"type": "static""#,
        &format!(r#"{scram}: {{"type": "static""#),
        1,
    );
    assert!(json.contains("scrypt"));
    let output = check(dir.path(), &json);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(
        stderr.contains(
            r#"error: workers[0].transports[0].paths.ws.auth.scram.principals.alice.kdf: expected one of argon2id-13, pbkdf2, found "scrypt""#
        ),
        "{stderr}"
    );
    assert!(!stderr.contains(stored), "{stderr}");

    // The same principal with a known kdf loads and is summarised without its keys.
    let output = check(dir.path(), &json.replace("scrypt", "argon2id-13"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("auth scram: alice (role frontend, argon2id-13)"),
        "{stdout}"
    );
    assert!(!stdout.contains(stored), "{stdout}");
}

#[test]
fn an_unsupported_feature_is_an_error_and_an_undefined_role_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let json = GOOD.replace(r#""type": "websocket","#, r#""type": "catalog","#);
    let output = check(dir.path(), &json);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(
        stderr.contains(
            r#"workers[0].transports[0].paths.ws.type: path type "catalog" is not supported yet"#
        ),
        "{stderr}"
    );

    // A role no realm defines loads, as in Crossbar (its sessions are denied everything).
    let json = GOOD.replace(r#""role": "frontend""#, r#""role": "backend""#);
    let output = check(dir.path(), &json);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr:\n{stderr}");
    assert!(
        stderr.contains(
            r#"warning: workers[0].transports[0].paths.ws.auth.ticket.principals.joe.role: role "backend" is defined in no realm"#
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("never-print-this-ticket"));
}

#[test]
fn invalid_json_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = check(dir.path(), "{\n  \"workers\": [,]\n}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    // The file is named (issue 12: a newcomer could not tell which file was meant).
    let file = dir.path().join("config.json");
    assert!(
        stderr.contains(&format!("error: {} line 2 column 15:", file.display())),
        "stderr:\n{stderr}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_junction"))
        .args(["check", "--config"])
        .arg(dir.path().join("missing.json"))
        .output()
        .expect("run junction check");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains("missing.json"), "stderr:\n{stderr}");
}

/// An HTTP bridge on TLS: the certificate and key are named relative to the config file's
/// folder (the check runs from another directory).
const BRIDGE: &str = r#"{
    "workers": [{
        "type": "router",
        "realms": [{"name": "realm1", "roles": [
            {"name": "anonymous", "permissions": [{"uri": "*", "publish": true, "subscribe": true, "call": true, "register": true}]},
            {"name": "backend"}
        ]}],
        "transports": [
            {"type": "websocket", "endpoint": {"type": "tcp", "port": 9000}},
            {"type": "web",
             "endpoint": {"type": "tcp", "port": 8443, "tls": {"certificate": "tls/server.crt", "key": "tls/server.key"}},
             "options": {"trusted_proxies": ["127.0.0.1"]},
             "paths": {
                "push": {"type": "pusher", "realm": "realm1", "role": "anonymous",
                         "options": {"key": "foobar", "secret": "never-print-push-secret",
                                     "require_ip": ["10.0.0.0/8", "192.168.1.1/255.255.255.0"]}},
                "call": {"type": "caller", "realm": "realm1", "role": "backend", "options": {"timeout": 2000}},
                "hook": {"type": "webhook", "realm": "realm1", "role": "anonymous",
                         "options": {"topic": "com.example.hook", "github_secret": "never-print-gh-secret",
                                     "methods": ["put"], "decode": "json"}}
             }}
        ]
    }]
}"#;

fn with_pem_files(dir: &Path) {
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    std::fs::write(dir.join("tls/server.crt"), "-----BEGIN CERTIFICATE-----\n").unwrap();
    std::fs::write(dir.join("tls/server.key"), "-----BEGIN PRIVATE KEY-----\n").unwrap();
}

#[test]
fn http_bridge_and_tls_config_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    with_pem_files(dir.path());
    let output = check(dir.path(), BRIDGE);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let crt = std::path::absolute(dir.path().join("tls/server.crt")).unwrap();
    for expected in [
        "workers[0].transports[0]: websocket on 0.0.0.0:9000",
        &format!(
            "workers[0].transports[1]: web on 0.0.0.0:8443 (https, tls certificate {}",
            crt.display()
        ),
        "trusted_proxies: 127.0.0.1/32",
        "/push: publisher (realm realm1, role anonymous)",
        "signed (key foobar)",
        "require_ip [10.0.0.0/8, 192.168.1.0/24]",
        "success_status 202",
        "/call: caller (realm realm1, role backend)",
        "unsigned",
        "success_status 200, timeout 2000 ms",
        "/hook: webhook (realm realm1, role anonymous)",
        "topic com.example.hook, methods [PUT], decode json, github_secret set",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    for secret in ["never-print-push-secret", "never-print-gh-secret"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret}"
        );
    }
}

#[test]
fn http_bridge_errors_name_the_json_path() {
    let dir = tempfile::tempdir().unwrap();
    with_pem_files(dir.path());
    let cases = [
        (
            BRIDGE.replace("tls/server.crt", "tls/missing.crt"),
            "error: workers[0].transports[1].endpoint.tls.certificate: cannot read",
        ),
        (
            BRIDGE.replace(r#""tls": {"#, r#""tls": {"ca_certificates": ["ca.pem"], "#),
            "error: workers[0].transports[1].endpoint.tls.ca_certificates[0]: cannot read",
        ),
        (
            BRIDGE.replace("192.168.1.1/255.255.255.0", "192.168.1.1/255.255.0.255"),
            "error: workers[0].transports[1].paths.push.options.require_ip[1]: \"192.168.1.1/255.255.0.255\": netmask 255.255.0.255 is not contiguous",
        ),
        (
            BRIDGE.replace(r#""key": "foobar", "#, ""),
            "error: workers[0].transports[1].paths.push.options.key: required when \"secret\" is given",
        ),
        (
            BRIDGE.replace(
                r#""realm": "realm1", "role": "backend""#,
                r#""realm": "realm2", "role": "backend""#,
            ),
            "error: workers[0].transports[1].paths.call.realm: realm \"realm2\" is not defined in this worker",
        ),
        (
            BRIDGE.replace(
                r#""role": "backend", "options""#,
                r#""role": "admin", "options""#,
            ),
            "error: workers[0].transports[1].paths.call.role: role \"admin\" is not defined in realm \"realm1\"",
        ),
        (
            BRIDGE.replace(r#""decode": "json""#, r#""decode": "yaml""#),
            "error: workers[0].transports[1].paths.hook.options.decode: expected \"json\", found \"yaml\"",
        ),
    ];
    for (json, expected) in cases {
        let output = check(dir.path(), &json);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in:\n{stderr}"
        );
        for secret in ["never-print-push-secret", "never-print-gh-secret"] {
            assert!(!stderr.contains(secret), "{stderr}");
        }
    }
}
