//! The `cluster` section as `junction check` sees it: the settings printed (never the NATS
//! token or password), files found next to the config, and errors naming the JSON path.

use std::process::Command;

/// `junction check` on a config whose router worker has `cluster`; `files` are written next to
/// the config first. Returns (success, stdout + stderr).
fn check_with(cluster: &str, files: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    check_workers(
        &format!(
            r#"[{{"type": "router", "realms": [{{"name": "realm1", "roles": []}}],
                 "transports": [], "cluster": {cluster}}}]"#
        ),
        files,
        env,
    )
}

fn check(cluster: &str, env: &[(&str, &str)]) -> (bool, String) {
    check_with(cluster, &[], env)
}

fn check_workers(workers: &str, files: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    for file in files {
        std::fs::write(dir.path().join(file), "not read by check").expect("write file");
    }
    let path = dir.path().join("config.json");
    std::fs::write(&path, format!(r#"{{"version": 2, "workers": {workers}}}"#))
        .expect("write config");
    let mut command = Command::new(env!("CARGO_BIN_EXE_junction"));
    command.arg("check").arg("--config").arg(&path);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("run junction check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// `check` fails and its output names `path` (and every one of `also`).
fn assert_refused(cluster: &str, files: &[&str], path: &str, also: &[&str]) {
    let (ok, out) = check_with(cluster, files, &[]);
    assert!(!ok, "{cluster} was accepted:\n{out}");
    assert!(out.contains(path), "{cluster}: no {path} in\n{out}");
    for text in also {
        assert!(out.contains(text), "{cluster}: no {text} in\n{out}");
    }
}

#[test]
fn check_prints_the_cluster_settings_without_the_token() {
    let (ok, out) = check(
        r#"{"nats": {"servers": ["nats://10.0.0.1:4222", "10.0.0.2:4222"],
                     "token": "$NATS_TOKEN"},
            "node": "node-a", "heartbeat": 200, "dead_after": 900}"#,
        &[("NATS_TOKEN", "never-print-this-token")],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "cluster: NATS nats://10.0.0.1:4222, nats://10.0.0.2:4222 (token), node node-a, \
             prefix J, heartbeat 200 ms, dead after 900 ms"
        ),
        "{out}"
    );
    assert!(!out.contains("never-print-this-token"), "{out}");
}

#[test]
fn check_prints_defaults_and_a_node_name_chosen_at_start() {
    let (ok, out) = check(r#"{"nats": {"servers": ["127.0.0.1:4222"]}}"#, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "cluster: NATS nats://127.0.0.1:4222 (no authentication), node <host name>-<random> \
             chosen at start, prefix J, heartbeat 250 ms, dead after 1500 ms"
        ),
        "{out}"
    );
}

#[test]
fn check_names_the_user_but_never_prints_the_password() {
    let (ok, out) = check(
        r#"{"nats": {"servers": ["tls://nats.example.com:4222"], "user": "junction",
                     "password": "$NATS_PASSWORD"}, "prefix": "J2"}"#,
        &[("NATS_PASSWORD", "never-print-this-password")],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("NATS tls://nats.example.com:4222 (user junction), "),
        "{out}"
    );
    assert!(out.contains("prefix J2"), "{out}");
    assert!(!out.contains("never-print-this-password"), "{out}");
    // Given in clear, it is not printed either.
    let (ok, out) = check(
        r#"{"nats": {"servers": ["x:1"], "user": "u", "password": "clear-password-value"}}"#,
        &[],
    );
    assert!(ok, "{out}");
    assert!(!out.contains("clear-password-value"), "{out}");
}

#[test]
fn credentials_and_tls_files_are_found_next_to_the_config() {
    let (ok, out) = check_with(
        r#"{"nats": {"servers": ["tls://x:1"], "credentials": "nats.creds",
                     "tls": {"ca_certificates": ["ca.pem"], "certificate": "client.pem",
                             "key": "client.key"}}}"#,
        &["nats.creds", "ca.pem", "client.pem", "client.key"],
        &[],
    );
    assert!(ok, "{out}");
    assert!(out.contains("nats.creds, TLS), "), "{out}");
}

#[test]
fn a_bad_cluster_section_names_its_json_path() {
    let (ok, out) = check(r#"{"nats": {"servers": ["x:1"]}, "prefix": "a.b"}"#, &[]);
    assert!(!ok);
    assert!(out.contains("workers[0].cluster.prefix"), "{out}");
    let (ok, out) = check(
        r#"{"nats": {"servers": ["x:1"], "token": "$UNSET_TOKEN_VAR"}}"#,
        &[],
    );
    assert!(!ok);
    assert!(out.contains("workers[0].cluster.nats.token"), "{out}");
}

#[test]
fn every_bad_key_names_its_json_path() {
    let p = "workers[0].cluster";
    let cases: &[(&str, String)] = &[
        (
            r#"{"nats": {"servers": ["x:1"]}, "nodes": "a"}"#,
            format!("{p}.nodes"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"], "tokn": "t"}}"#,
            format!("{p}.nats.tokn"),
        ),
        (r#"{"node": "a"}"#, format!("{p}.nats")),
        (r#"{"nats": {}}"#, format!("{p}.nats.servers")),
        (r#"{"nats": {"servers": []}}"#, format!("{p}.nats.servers")),
        (
            r#"{"nats": {"servers": "x:1"}}"#,
            format!("{p}.nats.servers"),
        ),
        (
            r#"{"nats": {"servers": ["x:1", "http://y:2"]}}"#,
            format!("{p}.nats.servers[1]"),
        ),
        (
            r#"{"nats": {"servers": ["x:1", "nats://"]}}"#,
            format!("{p}.nats.servers[1]"),
        ),
        (
            r#"{"nats": {"servers": ["x:1", "nats://y:99999"]}}"#,
            format!("{p}.nats.servers[1]"),
        ),
        (
            r#"{"nats": {"servers": ["x:1", ""]}}"#,
            format!("{p}.nats.servers[1]"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"]}, "node": ""}"#,
            format!("{p}.node"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"]}, "node": "a b"}"#,
            format!("{p}.node"),
        ),
        (
            &format!(
                r#"{{"nats": {{"servers": ["x:1"]}}, "node": "{}"}}"#,
                "n".repeat(65)
            ),
            format!("{p}.node"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"]}, "prefix": "J*"}"#,
            format!("{p}.prefix"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"]}, "prefix": "abcdefghijklmnopq"}"#,
            format!("{p}.prefix"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"]}, "heartbeat": 49}"#,
            format!("{p}.heartbeat"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"]}, "heartbeat": "1s"}"#,
            format!("{p}.heartbeat"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"]}, "heartbeat": 500, "dead_after": 1499}"#,
            format!("{p}.dead_after"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"]}, "max_subject_bytes": 255}"#,
            format!("{p}.max_subject_bytes"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"]}, "max_subject_bytes": 3073}"#,
            format!("{p}.max_subject_bytes"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"]}, "request_timeout": 99}"#,
            format!("{p}.request_timeout"),
        ),
        // At most one kind of authentication.
        (
            r#"{"nats": {"servers": ["x:1"], "token": "t", "user": "u", "password": "p"}}"#,
            format!("{p}.nats"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"], "token": "t", "password": "p"}}"#,
            format!("{p}.nats.password"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"], "password": "p"}}"#,
            format!("{p}.nats.password"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"], "user": "u"}}"#,
            format!("{p}.nats.password"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"], "user": "u", "password": ""}}"#,
            format!("{p}.nats.password"),
        ),
        (
            r#"{"nats": {"servers": ["x:1"], "token": "$UNSET_VAR_FOR_JUNCTION"}}"#,
            format!("{p}.nats.token"),
        ),
        // TLS.
        (
            r#"{"nats": {"servers": ["x:1"], "tls": {"ca": ["a.pem"]}}}"#,
            format!("{p}.nats.tls.ca"),
        ),
    ];
    for (cluster, path) in cases {
        assert_refused(cluster, &[], path, &[]);
    }
}

#[test]
fn a_password_in_a_server_url_is_refused_and_never_printed() {
    // It would print in `check` and in connection errors: it belongs in `password` or `token`.
    let (ok, out) = check(
        r#"{"nats": {"servers": ["nats://u:secret-in-url@x:4222"]}}"#,
        &[],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("workers[0].cluster.nats.servers[0]"), "{out}");
    assert!(!out.contains("secret-in-url"), "{out}");
    let (ok, out) = check(
        r#"{"nats": {"servers": ["nats://tok-in-url@x:4222"]}}"#,
        &[],
    );
    assert!(!ok, "{out}");
    assert!(!out.contains("tok-in-url"), "{out}");
}

#[test]
fn missing_files_name_the_key_and_the_file() {
    let p = "workers[0].cluster.nats";
    assert_refused(
        r#"{"nats": {"servers": ["x:1"], "credentials": "nats.creds"}}"#,
        &[],
        &format!("{p}.credentials"),
        &["nats.creds"],
    );
    assert_refused(
        r#"{"nats": {"servers": ["x:1"], "tls": {"ca_certificates": ["ca.pem", "ca2.pem"]}}}"#,
        &["ca.pem"],
        &format!("{p}.tls.ca_certificates[1]"),
        &["ca2.pem"],
    );
    assert_refused(
        r#"{"nats": {"servers": ["x:1"], "tls": {"certificate": "client.pem", "key": "client.key"}}}"#,
        &["client.pem"],
        &format!("{p}.tls.key"),
        &["client.key"],
    );
    assert_refused(
        r#"{"nats": {"servers": ["x:1"], "tls": {"certificate": "client.pem"}}}"#,
        &["client.pem"],
        &format!("{p}.tls"),
        &[],
    );
}

#[test]
fn a_second_router_worker_with_a_cluster_section_is_refused() {
    let router = |realm: &str| {
        format!(
            r#"{{"type": "router", "realms": [{{"name": "{realm}", "roles": []}}],
                 "transports": [], "cluster": {{"nats": {{"servers": ["x:1"]}}}}}}"#
        )
    };
    let (ok, out) = check_workers(&format!("[{}, {}]", router("a"), router("b")), &[], &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("workers[1]"), "{out}");
    assert!(out.contains("workers[0].cluster"), "{out}");
}

#[test]
fn a_guest_worker_has_no_cluster_section() {
    let (ok, out) = check_workers(
        r#"[{"type": "router", "realms": [], "transports": []},
            {"type": "guest", "executable": "true", "cluster": {"nats": {"servers": ["x:1"]}}}]"#,
        &[],
        &[],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("workers[1].cluster"), "{out}");
}
