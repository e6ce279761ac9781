//! Workers other than routers, against the real binary: a `websocket-testee` worker serves
//! its echo on its own endpoint, the parts Junction does not run are listed by `check` and
//! warned about once each by `start` (guest workers are tested end to end in
//! tests/interop/python/test_guest_worker.py).

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::common::*;

fn config_with_workers() -> serde_json::Value {
    json!({"version": 2, "workers": [
        {"type": "websocket-testee", "options": {"cpu_affinity": [0]},
         "transport": {"type": "websocket", "url": "ws://localhost:9001",
                       "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0}}},
        {"type": "container", "components": [{"type": "class", "classname": "app.Backend",
                                             "realm": "realm1", "transport": {}}]},
        {"type": "router", "realms": [open_realm("realm1", "loose")], "transports": []}
    ]})
}

#[tokio::test]
async fn a_websocket_testee_worker_echoes_and_parts_not_run_are_warned() {
    let router = Router::start(&config_with_workers());
    assert!(
        router
            .wait_for_log("(workers[0].transport)", Duration::from_secs(10))
            .await,
        "{}",
        router.log()
    );
    let log = router.log();
    let port: u16 = log
        .split("listening on 127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no listening line: {log}"));
    let (mut ws, response) = ws_connect(&format!("ws://127.0.0.1:{port}/"), &[], None)
        .await
        .expect("testee upgrade");
    assert_eq!(response.status(), 101);
    use futures_util::{SinkExt, StreamExt};
    ws.send(WsMessage::text("hello, testee")).await.unwrap();
    match ws.next().await {
        Some(Ok(WsMessage::Text(t))) => assert_eq!(t.as_str(), "hello, testee"),
        other => panic!("expected the text echoed, got {other:?}"),
    }
    assert_eq!(
        log.matches("not run by Junction: workers[1]: container worker (class app.Backend, realm realm1); instead: ")
            .count(),
        1,
        "{log}"
    );
}

#[test]
fn check_lists_what_is_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, config_with_workers().to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_junction"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "workers[0] (router)\n  no realms\n  transport workers[0].transport: web on 127.0.0.1:0\n    /: websocket-testee (echo)\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "not run by Junction:\n  workers[1]: container worker (class app.Backend, realm realm1)\n    instead: run each component as an autobahn Component"
        ),
        "{stdout}"
    );
}

fn alive(pid: u32) -> bool {
    // `kill -0` succeeds while the process exists (and is not a reaped zombie's pid).
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A guest that started a process of its own (in the background) and one that ignores
/// SIGTERM: on shutdown both are gone, the second after SIGKILL, and Junction exits 0.
#[tokio::test]
async fn shutdown_leaves_no_process_of_a_guest_behind() {
    let config = json!({"workers": [
        {"type": "router", "realms": [open_realm("realm1", "loose")],
         "transports": [web_transport(json!({}))]},
        {"type": "guest", "id": "spawner", "executable": "sh",
         "arguments": ["-c", "sleep 300 & echo \"background $!\"; wait"]},
        {"type": "guest", "id": "stubborn", "executable": "sh",
         "arguments": ["-c", "trap '' TERM; echo \"stubborn $$\"; while true; do sleep 1; done"]}
    ]});
    let mut router = Router::start(&config);
    for needle in [
        "guest spawner stdout: background ",
        "guest stubborn stdout: stubborn ",
    ] {
        assert!(
            router.wait_for_log(needle, Duration::from_secs(10)).await,
            "{}",
            router.log()
        );
    }
    let pid_after = |needle: &str| -> u32 {
        let log = router.log();
        let rest = log.split(needle).nth(1).unwrap();
        // The pid, then the line's fields (` guest=...`).
        let line = rest.lines().next().unwrap();
        line.split_whitespace().next().unwrap().parse().unwrap()
    };
    let background = pid_after("guest spawner stdout: background ");
    let stubborn = pid_after("guest stubborn stdout: stubborn ");
    assert!(alive(background) && alive(stubborn));

    router.terminate();
    let status = router
        .wait_exit(Duration::from_secs(15))
        .expect("junction exits after its guests");
    assert!(status.success(), "{status:?}\n{}", router.log());
    assert!(
        !alive(background),
        "the guest's background process outlived it"
    );
    assert!(
        !alive(stubborn),
        "a guest ignoring SIGTERM outlived Junction"
    );
    let log = router.log();
    assert!(
        log.contains("guest stubborn: still running 5 s after SIGTERM, sending SIGKILL"),
        "{log}"
    );
}

#[test]
fn a_missing_executable_stops_start_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let config = json!({"workers": [
        {"type": "router", "realms": [], "transports": []},
        {"type": "guest", "executable": "no-such-program-here"}
    ]});
    std::fs::write(&path, config.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_junction"))
        .args(["start", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr
            .contains("workers[1].executable: cannot find an executable \"no-such-program-here\""),
        "{stderr}"
    );
}

/// `options.stdin` with a JSON value reaches the program; `stdout: drop` keeps its output out
/// of the log; a restart follows an exit.
#[tokio::test]
async fn stdin_json_output_options_and_restart() {
    let config = json!({"workers": [
        {"type": "router", "realms": [open_realm("realm1", "loose")],
         "transports": [web_transport(json!({}))]},
        {"type": "guest", "id": "reader", "executable": "cat",
         "options": {"stdin": {"type": "json", "value": {"realm": "realm1", "n": [1, 2]}}}},
        {"type": "guest", "id": "quiet", "executable": "sh",
         "arguments": ["-c", "echo should-not-appear; sleep 300"],
         "options": {"stdout": "drop"}}
    ]});
    let router = Router::start(&config);
    for needle in [
        r#"guest reader stdout: {"n":[1,2],"realm":"realm1"}"#,
        "guest reader exited (exit status: 0)",
        "guest reader: restarting in 1 s",
        "guest quiet started",
    ] {
        assert!(
            router.wait_for_log(needle, Duration::from_secs(10)).await,
            "{needle}\n{}",
            router.log()
        );
    }
    // The second run reads the value again.
    assert!(
        router
            .wait_for_log("guest reader: restarting in 2 s", Duration::from_secs(10))
            .await,
        "{}",
        router.log()
    );
    assert!(!router.log().contains("should-not-appear"));
}

/// Whether `pid` is a running process (gone, or a zombie nobody reaped yet, is not running).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// Junction killed with SIGKILL (no chance to stop its guests): the guest is told by the
/// kernel (SIGTERM as its parent dies) and does not run on as an orphan.
#[tokio::test]
async fn a_guest_does_not_outlive_a_killed_junction() {
    let config = json!({"workers": [
        {"type": "router", "realms": [open_realm("realm1", "loose")],
         "transports": [web_transport(json!({}))]},
        {"type": "guest", "id": "sleeper", "executable": "sleep", "arguments": ["600"]}
    ]});
    let mut router = Router::start(&config);
    let needle = "guest sleeper started (pid ";
    assert!(
        router.wait_for_log(needle, Duration::from_secs(10)).await,
        "{}",
        router.log()
    );
    let log = router.log();
    let rest = log.split(needle).nth(1).unwrap();
    let pid: u32 = rest[..rest.find(')').unwrap()].parse().unwrap();
    assert!(running(pid));
    router.kill();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while running(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "the guest (pid {pid}) outlived a killed Junction"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
