//! TLS client-certificate authentication in `config.json`, through `junction check` as a real
//! process: `endpoint.tls.ca_certificates` (files relative to the config's folder, `$VAR`
//! expanded) and `auth.tls` (static principals by `certificate-sha1`, or a dynamic
//! authenticator). Errors name the JSON path; `tls` auth where no client certificate is asked
//! for loads (as in Crossbar) with a warning.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

const SHA1: &str = "B6:E5:E6:F2:2A:86:DB:3C:DC:9F:51:42:58:39:9B:14:92:5D:A1:EB";

fn check(dir: &Path, config: &Value, env: &[(&str, &str)]) -> Output {
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_string()).expect("write config");
    Command::new(env!("CARGO_BIN_EXE_junction"))
        .args(["check", "--config"])
        .arg(&path)
        .envs(env.iter().copied())
        .output()
        .expect("run junction check")
}

/// A folder with the PEM files the loader checks are readable (content is read at start).
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tls")).unwrap();
    for name in ["server.crt", "server.key", "ca.pem", "intermediate.pem"] {
        std::fs::write(dir.path().join("tls").join(name), "-----BEGIN X-----\n").unwrap();
    }
    dir
}

/// One web transport with a TLS endpoint (`tls` given) and a WebSocket path with `auth`.
fn config(tls: Value, auth: Value) -> Value {
    json!({
        "version": 2,
        "workers": [{
            "type": "router",
            "realms": [{"name": "realm1", "roles": [{"name": "backend"}, {"name": "frontend"}]}],
            "transports": [{
                "type": "web",
                "endpoint": {"type": "tcp", "port": 8443, "tls": tls},
                "paths": {"ws": {"type": "websocket", "auth": auth}}
            }]
        }]
    })
}

fn tls_with_ca(ca: Value) -> Value {
    json!({"certificate": "tls/server.crt", "key": "tls/server.key", "ca_certificates": ca})
}

fn static_tls(principals: Value) -> Value {
    json!({"tls": {"type": "static", "principals": principals}})
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const T: &str = "workers[0].transports[0]";

#[test]
fn ca_certificates_and_static_tls_principals_load_and_are_summarised() {
    let dir = folder();
    let auth = static_tls(json!({
        "client_0": {"certificate-sha1": SHA1, "role": "backend"},
        "client_1": {"certificate-sha1": "00112233445566778899aabbccddeeff00112233", "role": "frontend"}
    }));
    let tls = tls_with_ca(json!(["tls/ca.pem", "$INTERMEDIATE"]));
    let output = check(
        dir.path(),
        &config(tls, auth),
        &[("INTERMEDIATE", "tls/intermediate.pem")],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let ca = std::path::absolute(dir.path().join("tls/ca.pem")).unwrap();
    let intermediate = std::path::absolute(dir.path().join("tls/intermediate.pem")).unwrap();
    for expected in [
        format!(
            "client certificates required, issued by {}, {}",
            ca.display(),
            intermediate.display()
        ),
        "auth tls: client_0 (role backend), client_1 (role frontend)".to_string(),
    ] {
        assert!(
            stdout.contains(&expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn dynamic_tls_auth_loads() {
    let dir = folder();
    let auth = json!({"tls": {"type": "dynamic", "authenticator": "com.example.authenticate"}});
    let output = check(
        dir.path(),
        &config(tls_with_ca(json!(["tls/ca.pem"])), auth),
        &[],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("auth tls: dynamic, decided by com.example.authenticate"),
        "{stdout}"
    );
}

#[test]
fn tls_auth_where_no_client_certificate_is_asked_for_is_a_warning() {
    let dir = folder();
    let plain_tls = json!({"certificate": "tls/server.crt", "key": "tls/server.key"});
    let principals = static_tls(json!({"client_0": {"certificate-sha1": SHA1, "role": "backend"}}));
    let output = check(dir.path(), &config(plain_tls, principals.clone()), &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: {T}.paths.ws.auth.tls: the endpoint has no tls.ca_certificates, so no \
             client certificate is asked for and every tls login is refused"
        )),
        "{stderr}"
    );

    // A plain endpoint (no tls at all) and a RawSocket transport: the same.
    let mut plain = config(json!(null), principals.clone());
    plain["workers"][0]["transports"][0]["endpoint"] = json!({"type": "tcp", "port": 8080});
    plain["workers"][0]["transports"]
        .as_array_mut()
        .unwrap()
        .push(
            json!({"type": "rawsocket", "endpoint": {"type": "tcp", "port": 9000},
                     "auth": principals}),
        );
    let output = check(dir.path(), &plain, &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    for at in [
        format!("{T}.paths.ws.auth.tls"),
        "workers[0].transports[1].auth.tls".to_string(),
    ] {
        assert!(
            stderr.contains(&format!("warning: {at}: the endpoint has no")),
            "{at}: {stderr}"
        );
    }
}

#[test]
fn errors_name_the_json_path() {
    let dir = folder();
    let ok_tls = || tls_with_ca(json!(["tls/ca.pem"]));
    let principal = |fields: Value| static_tls(json!({"client_0": fields}));
    let at_tls = format!("{T}.endpoint.tls");
    let at_auth = format!("{T}.paths.ws.auth.tls");
    let cases: Vec<(Value, String)> = vec![
        (
            config(
                tls_with_ca(json!(["tls/missing.pem"])),
                principal(json!({"certificate-sha1": SHA1, "role": "backend"})),
            ),
            format!("{at_tls}.ca_certificates[0]: cannot read"),
        ),
        (
            config(
                tls_with_ca(json!("tls/ca.pem")),
                principal(json!({"certificate-sha1": SHA1, "role": "backend"})),
            ),
            format!("{at_tls}.ca_certificates: expected an array, found a string"),
        ),
        (
            config(
                tls_with_ca(json!([])),
                principal(json!({"certificate-sha1": SHA1, "role": "backend"})),
            ),
            format!("{at_tls}.ca_certificates: expected at least one CA certificate file"),
        ),
        (
            config(
                tls_with_ca(json!(["$NO_SUCH_VAR"])),
                principal(json!({"certificate-sha1": SHA1, "role": "backend"})),
            ),
            format!("{at_tls}.ca_certificates[0]: environment variable NO_SUCH_VAR is not set"),
        ),
        (
            config(
                ok_tls(),
                principal(json!({"certificate-sha1": "B6:E5:E6", "role": "backend"})),
            ),
            format!(
                "{at_auth}.principals.client_0.certificate-sha1: expected a SHA-1 fingerprint \
                 (40 hex digits, colons optional), found \"B6:E5:E6\""
            ),
        ),
        (
            config(ok_tls(), principal(json!({"certificate-sha1": SHA1}))),
            format!("{at_auth}.principals.client_0.role: required key is missing"),
        ),
        (
            config(ok_tls(), principal(json!({"role": "backend"}))),
            format!("{at_auth}.principals.client_0.certificate-sha1: required key is missing"),
        ),
        (
            config(
                ok_tls(),
                principal(json!({"certificate-sha1": SHA1, "role": "backend", "ticket": "x"})),
            ),
            format!("{at_auth}.principals.client_0.ticket: unknown key"),
        ),
        (
            config(
                ok_tls(),
                static_tls(json!({
                    "a": {"certificate-sha1": SHA1, "role": "backend"},
                    "b": {"certificate-sha1": SHA1.replace(':', "").to_lowercase(), "role": "frontend"}
                })),
            ),
            format!(
                "{at_auth}.principals.b.certificate-sha1: the same certificate as principal \"a\""
            ),
        ),
        (
            config(ok_tls(), json!({"tls": {"type": "static"}})),
            format!("{at_auth}.principals: required key is missing"),
        ),
        (
            config(ok_tls(), json!({"tls": {"type": "dynamic"}})),
            format!("{at_auth}.authenticator: required key is missing"),
        ),
    ];
    for (json, expected) in cases {
        let output = check(dir.path(), &json, &[]);
        let (stdout, stderr) = text(&output);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{expected}\n{stdout}\n{stderr}"
        );
        assert!(
            stderr.starts_with(&format!("error: {expected}")),
            "expected {expected:?}, got:\n{stderr}"
        );
    }
}
