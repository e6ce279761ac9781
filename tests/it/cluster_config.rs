//! The `cluster` section as `junction check` sees it: the settings printed (never the NATS
//! token), and errors naming the JSON path.

use std::process::Command;

fn check(cluster: &str, env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.json");
    let json = format!(
        r#"{{"version": 2, "workers": [{{"type": "router",
            "realms": [{{"name": "realm1", "roles": []}}], "transports": [],
            "cluster": {cluster}}}]}}"#
    );
    std::fs::write(&path, json).expect("write config");
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
