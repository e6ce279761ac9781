//! `cgi` paths against an in-process router, with scripts this test writes: Python under a
//! `processor` and executable shell scripts run themselves. The RFC 3875 variables and nothing
//! else of the node's environment (PATH aside), the body on stdin, `Status`, `Location` and
//! other header fields of the output, `PATH_INFO` below the script, and the refusals: no
//! script or one outside the directory (404), a failing script or bad output (502), a script
//! past `timeout` (504, killed), a body past `post_body_limit` (413).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common;
use common::bridge::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

const ENV_PY: &str = r#"
import json, os, sys
body = sys.stdin.read()
print("Content-Type: application/json")
print("X-Script: env")
print()
print(json.dumps({"env": dict(os.environ), "body": body, "cwd": os.getcwd()}))
"#;

fn write_script(dir: &Path, name: &str, text: &str) {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `py/` for python3, `sh/` for scripts that run themselves, and a script outside both.
fn scripts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let py = dir.path().join("py");
    let sh = dir.path().join("sh");
    std::fs::create_dir_all(py.join("sub")).unwrap();
    std::fs::create_dir_all(&sh).unwrap();
    write_script(&py, "env.py", ENV_PY);
    write_script(&py, "sub/env.py", ENV_PY);
    write_script(
        &py,
        "fail.py",
        "import sys\nsys.stderr.write('boom\\n')\nsys.exit(3)\n",
    );
    write_script(&py, "garbage.py", "print('no headers here')\n");
    write_script(&py, "slow.py", "import time\ntime.sleep(30)\n");
    write_script(
        &sh,
        "status.sh",
        "#!/bin/sh\nprintf 'Status: 201 Created\\r\\nX-Test: yes\\r\\nContent-Type: text/plain\\r\\n\\r\\ncreated'\n",
    );
    write_script(
        &sh,
        "moved.sh",
        "#!/bin/sh\nprintf 'Location: https://example.com/x\\n\\n'\n",
    );
    write_script(&sh, "plain.txt", "not executable, no shebang\n");
    std::fs::set_permissions(sh.join("plain.txt"), std::fs::Permissions::from_mode(0o644)).unwrap();
    write_script(dir.path(), "outside.py", ENV_PY);
    std::os::unix::fs::symlink(dir.path().join("outside.py"), py.join("link.py")).unwrap();
    dir
}

fn router(dir: &Path) -> InProcess {
    let paths = json!({
        "ws": {"type": "websocket"},
        "cgi-bin": {"type": "cgi", "directory": dir.join("py").to_str().unwrap(),
                    "processor": "/usr/bin/python3", "timeout": 1000, "post_body_limit": 64},
        "sh": {"type": "cgi", "directory": dir.join("sh").to_str().unwrap()},
    });
    InProcess::start(&common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        vec![web(paths, Value::Null)],
    ))
}

#[tokio::test]
async fn scripts_get_the_cgi_environment_and_their_output_is_the_answer() {
    let dir = scripts();
    let router = router(dir.path());
    let addr = router.addrs[0];

    let answer = request(
        addr,
        "POST",
        "/cgi-bin/env.py/extra/path?a=1&b=%20",
        &[
            "Content-Type: text/plain",
            "X-Custom: one",
            "Authorization: Bearer secret",
            "Proxy: http://evil.example",
        ],
        b"hello body",
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.header("x-script"), Some("env"));
    let out: Value = serde_json::from_slice(&answer.body).unwrap();
    let env = &out["env"];
    assert_eq!(out["body"], "hello body");
    assert_eq!(env["GATEWAY_INTERFACE"], "CGI/1.1");
    assert_eq!(env["SERVER_PROTOCOL"], "HTTP/1.1");
    assert_eq!(env["REQUEST_METHOD"], "POST");
    assert_eq!(env["QUERY_STRING"], "a=1&b=%20");
    assert_eq!(env["CONTENT_LENGTH"], "10");
    assert_eq!(env["CONTENT_TYPE"], "text/plain");
    assert_eq!(env["SCRIPT_NAME"], "/cgi-bin/env.py");
    assert_eq!(env["PATH_INFO"], "/extra/path");
    assert_eq!(env["SERVER_NAME"], "127.0.0.1");
    assert_eq!(env["SERVER_PORT"], addr.port().to_string());
    assert_eq!(env["REMOTE_ADDR"], "127.0.0.1");
    assert_eq!(env["HTTP_X_CUSTOM"], "one");
    assert!(env["PATH"].is_string());
    let keys: Vec<&String> = env.as_object().unwrap().keys().collect();
    for key in &keys {
        assert!(
            !key.starts_with("CARGO") && !key.starts_with("RUST") && *key != "HOME",
            "the node's environment leaked: {key}"
        );
    }
    assert!(
        env.get("HTTP_AUTHORIZATION").is_none(),
        "credentials stay out"
    );
    assert!(env.get("HTTP_PROXY").is_none(), "no httpoxy");
    let py = dir.path().join("py").canonicalize().unwrap();
    assert_eq!(out["cwd"], py.to_str().unwrap());

    let nested = request(addr, "GET", "/cgi-bin/sub/env.py", &[], b"").await;
    let out: Value = serde_json::from_slice(&nested.body).unwrap();
    assert_eq!(out["env"]["SCRIPT_NAME"], "/cgi-bin/sub/env.py");
    assert_eq!(out["env"]["PATH_INFO"], "");
    assert_eq!(out["env"]["REQUEST_METHOD"], "GET");

    let created = request(addr, "GET", "/sh/status.sh", &[], b"").await;
    assert_eq!(created.status, 201);
    assert_eq!(created.header("x-test"), Some("yes"));
    assert_eq!(created.body, b"created");
    let moved = request(addr, "GET", "/sh/moved.sh", &[], b"").await;
    assert_eq!(moved.status, 302);
    assert_eq!(moved.header("location"), Some("https://example.com/x"));
}

#[tokio::test]
async fn missing_failing_slow_and_outside_scripts_are_refused() {
    let dir = scripts();
    let router = router(dir.path());
    let addr = router.addrs[0];
    let error = |res: &HttpResponse, status: u16| -> String {
        assert_eq!(res.status, status, "{}", String::from_utf8_lossy(&res.body));
        let body: Value = serde_json::from_slice(&res.body).unwrap();
        body["error"].as_str().unwrap().to_string()
    };

    for target in [
        "/cgi-bin/nothing.py",
        "/cgi-bin/",
        "/cgi-bin/sub",
        "/cgi-bin/../outside.py",
        "/cgi-bin/%2e%2e/outside.py",
        "/cgi-bin/link.py",
    ] {
        let refused = request(addr, "GET", target, &[], b"").await;
        assert!(error(&refused, 404).starts_with("no script at"), "{target}");
    }

    let failed = request(addr, "GET", "/cgi-bin/fail.py", &[], b"").await;
    let message = error(&failed, 502);
    assert!(
        message.contains("/cgi-bin/fail.py failed: exited with"),
        "{message}"
    );
    let garbage = request(addr, "GET", "/cgi-bin/garbage.py", &[], b"").await;
    assert!(error(&garbage, 502).contains("failed: the script's"));
    let not_a_program = request(addr, "GET", "/sh/plain.txt", &[], b"").await;
    assert!(error(&not_a_program, 502).contains("cannot start"));

    let started = Instant::now();
    let slow = request(addr, "GET", "/cgi-bin/slow.py", &[], b"").await;
    assert!(error(&slow, 504).contains("did not finish within 1000 ms"));
    assert!(started.elapsed() < Duration::from_secs(10));

    let large = request(addr, "POST", "/cgi-bin/env.py", &[], &[b'x'; 65]).await;
    assert!(error(&large, 413).contains("post_body_limit (64 bytes)"));
}
