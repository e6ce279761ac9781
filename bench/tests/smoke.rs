//! Smoke run of every scenario at tiny sizes against a real Junction started on port 0, so the
//! generator cannot rot: each run must complete, count what it did and report no errors. No
//! timing is asserted (speed is measured by `bench/compare.sh`, never in tests).
//!
//! Also checks that the generator's pusher signature is what `junction sign` prints for the
//! same key, secret, timestamp, seq, nonce and body.
//!
//! The `junction` binary is taken from `JUNCTION_BIN`, else from the same target directory as
//! this test (`cargo build -p junction` first; `./test.sh` does).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

const KEY: &str = "bench-key";
const SECRET: &str = "bench-secret";

fn junction_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("JUNCTION_BIN") {
        return bin.into();
    }
    // target/<profile>/deps/smoke-<hash> -> target/<profile>/junction
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("junction");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p junction` first",
        bin.display()
    );
    bin
}

/// A Junction on 127.0.0.1:0 with WAMP at /ws, an unsigned pusher at /push, a signed one at
/// /push-signed and Server-Sent Events at /events; killed on drop.
struct Junction {
    child: Child,
    addr: String,
    _config: tempfile::NamedTempFile,
}

impl Junction {
    fn start() -> Junction {
        let config = json!({"version": 2, "workers": [{"type": "router",
            "realms": [{"name": "realm1", "roles": [{"name": "anonymous", "permissions": [{
                "uri": "", "match": "prefix",
                "allow": {"call": true, "register": true, "publish": true, "subscribe": true}}]}]}],
            "transports": [{"type": "web",
                "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
                "paths": {
                    "ws": {"type": "websocket", "serializers": ["json", "msgpack"]},
                    "push": {"type": "publisher", "realm": "realm1", "role": "anonymous"},
                    "push-signed": {"type": "publisher", "realm": "realm1", "role": "anonymous",
                                    "options": {"key": KEY, "secret": SECRET}},
                    "events": {"type": "sse", "realm": "realm1", "role": "anonymous"}}}]}]});
        let mut file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
        file.write_all(config.to_string().as_bytes()).unwrap();
        let mut child = Command::new(junction_bin())
            .args(["start", "--config"])
            .arg(file.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start junction");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("junction did not start listening");
            }
        };
        Junction {
            child,
            addr,
            _config: file,
        }
    }
}

impl Drop for Junction {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the generator; returns its JSON line.
fn bench(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_junction-bench"))
        .args(args)
        .output()
        .expect("run junction-bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "junction-bench {args:?} failed: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no JSON line; stderr: {stderr}"));
    let report: Value = serde_json::from_str(line).expect("a JSON line");
    assert_eq!(
        report["errors"].as_u64().unwrap_or(0),
        0,
        "{report}\n{stderr}"
    );
    report
}

const TINY: [&str; 6] = ["--warmup", "0.2", "--duration", "20", "--count", "20"];

fn with<'a>(args: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(extra).copied().collect()
}

#[test]
fn every_scenario_runs_at_tiny_sizes() {
    let junction = Junction::start();
    let (push, signed, ws) = (
        format!("http://{}/push", junction.addr),
        format!("http://{}/push-signed", junction.addr),
        format!("ws://{}/ws", junction.addr),
    );

    let r = bench(&with(
        &[
            "pusher", "--url", &push, "-c", "2", "-s", "2", "--ws-url", &ws,
        ],
        &TINY,
    ));
    assert!(r["requests"].as_u64().unwrap() >= 20, "{r}");
    assert!(r["subscribers"]["events"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["subscribers"]["disconnected"], 0, "{r}");

    let r = bench(&with(
        &[
            "pusher", "--url", &signed, "-c", "2", "--key", KEY, "--secret", SECRET,
        ],
        &TINY,
    ));
    assert!(r["requests"].as_u64().unwrap() >= 20, "{r}");
    assert_eq!(r["signed"], true);

    for serializer in ["json", "msgpack"] {
        let r = bench(&with(
            &[
                "fanout",
                "--url",
                &ws,
                "--serializer",
                serializer,
                "-s",
                "3",
                "-p",
                "2",
            ],
            &TINY,
        ));
        assert!(r["publishes"].as_u64().unwrap() >= 20, "{r}");
        assert!(r["deliveries"].as_u64().unwrap() > 0, "{r}");
        assert!(r["latency_us"]["count"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["disconnected"], 0, "{r}");
        assert_eq!(r["lost"], 0, "{r}");

        let r = bench(&with(
            &[
                "rpc",
                "--url",
                &ws,
                "--serializer",
                serializer,
                "--callees",
                "2",
                "-n",
                "2",
                "-k",
                "3",
            ],
            &TINY,
        ));
        assert!(r["calls"].as_u64().unwrap() >= 20, "{r}");
        assert!(r["latency_us"]["p50"].as_f64().unwrap() > 0.0, "{r}");
    }

    let sse = format!("http://{}/events", junction.addr);
    let r = bench(&with(
        &[
            "sse-fanout",
            "--url",
            &ws,
            "--sse-url",
            &sse,
            "-s",
            "3",
            "-p",
            "2",
        ],
        &TINY,
    ));
    assert_eq!(r["scenario"], "sse-fanout", "{r}");
    assert!(r["publishes"].as_u64().unwrap() >= 20, "{r}");
    // Every stream got every event published in the run, stamps included.
    assert_eq!(r["lost"], 0, "{r}");
    assert!(r["deliveries"].as_u64().unwrap() > 0, "{r}");
    assert!(r["latency_us"]["count"].as_u64().unwrap() > 0, "{r}");
    assert!(r["latency_us"]["p90"].as_f64().unwrap() > 0.0, "{r}");
    assert_eq!(r["disconnected"], 0, "{r}");

    let r = bench(&with(&["rpc", "--url", &ws, "-n", "1", "-k", "1"], &TINY));
    assert!(r["calls"].as_u64().unwrap() >= 20, "{r}");

    let pid = junction.child.id().to_string();
    let r = bench(&[
        "idle",
        "--url",
        &ws,
        "-n",
        "20",
        "--hold",
        "0",
        "--server-pid",
        &pid,
    ]);
    assert_eq!(r["sessions"], 20, "{r}");
    assert_eq!(r["failed"], 0, "{r}");
    assert!(r["bytes_per_session"].is_number(), "{r}");
}

#[test]
fn signature_equals_what_junction_sign_prints() {
    let body = br#"{"topic":"com.myapp.topic1","args":["Hello, world", 1]}"#;
    let mut child = Command::new(junction_bin())
        .args(["sign", "--key", KEY, "--secret", SECRET, "--seq", "7"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run junction sign");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let query = String::from_utf8(out.stdout).unwrap();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.trim().as_bytes())
        .into_owned()
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {query}"))
    };
    assert_eq!(get("key"), KEY);
    assert_eq!(get("seq"), "7");
    let (timestamp, nonce) = (get("timestamp"), get("nonce"));
    assert_eq!(
        junction_bench::http::signature(SECRET, KEY, &timestamp, "7", &nonce, body),
        get("signature")
    );
    // And the generator's whole query, given the same timestamp and nonce.
    let ours = junction_bench::http::signed_query(
        KEY,
        SECRET,
        &timestamp,
        7,
        nonce.parse().unwrap(),
        body,
    );
    let ours: Vec<(String, String)> = url::form_urlencoded::parse(ours.as_bytes())
        .into_owned()
        .collect();
    let mut theirs = pairs.clone();
    let mut ours_sorted = ours;
    theirs.sort();
    ours_sorted.sort();
    assert_eq!(ours_sorted, theirs);
}
