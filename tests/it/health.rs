//! `health` (liveness) and `ready` (readiness) paths against an in-process router: the JSON
//! bodies naming each check, readiness turning false at shutdown, pollers listed (an erring
//! poller does not make the node unready), other methods refused.

use crate::common;
use common::bridge::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

fn router(topics: Value) -> InProcess {
    // The poller's HTTP client needs the process-wide TLS provider, as `junction start` installs.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let paths = json!({
        "ws": {"type": "websocket"},
        "health": {"type": "health"},
        "ready": {"type": "ready"}
    });
    InProcess::start(&common::config(
        vec![
            json!({"name": "realm1", "roles": [full_access_role("anonymous")],
                    "store": {"type": "memory"}, "topics": topics}),
        ],
        vec![web(paths, Value::Null)],
    ))
}

async fn get_json(addr: std::net::SocketAddr, target: &str) -> (u16, Value) {
    let response = request(addr, "GET", target, &[], b"").await;
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{target}"
    );
    let body = serde_json::from_slice(&response.body).expect("a JSON body");
    (response.status, body)
}

fn check<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name} in {body}"))
}

#[tokio::test]
async fn liveness_and_readiness_name_their_checks() {
    // A poller whose upstream refuses connections: in error, listed, not making us unready.
    let topics = json!([{"name": "com.down", "publisher": {"type": "http-poller",
        "alwaysOn": true, "config": {"url": "http://127.0.0.1:9/", "pollingPeriod": "PT1S",
                                     "retryMaxAttempts": 0}}}]);
    let router = router(topics);
    let addr = router.addrs[0];

    let (status, health) = get_json(addr, "/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));

    // The poller fails its first poll at once; give it a moment.
    let mut ready = Value::Null;
    for _ in 0..50 {
        let (status, body) = get_json(addr, "/ready").await;
        assert_eq!(status, 200, "{body}");
        ready = body;
        if ready["pollers"][0]["lastError"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(check(&ready, "listeners")["ok"], true, "{ready}");
    assert_eq!(check(&ready, "listeners")["detail"], "1 of 1 up");
    assert_eq!(check(&ready, "store:realm1")["ok"], true, "{ready}");
    assert_eq!(check(&ready, "cluster")["ok"], true, "{ready}");
    assert_eq!(check(&ready, "cluster")["detail"], "no cluster configured");
    assert_eq!(ready["pollers"][0]["realm"], "realm1", "{ready}");
    assert_eq!(ready["pollers"][0]["topic"], "com.down", "{ready}");
    assert!(ready["pollers"][0]["lastError"].is_string(), "{ready}");

    let refused = request(addr, "POST", "/ready", &[], b"").await;
    assert_eq!(refused.status, 405);

    // Shutting down: still alive, no longer ready (a load balancer stops sending).
    router.router.begin_shutdown();
    let (status, ready) = get_json(addr, "/ready").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["ready"], false);
    assert_eq!(check(&ready, "shutdown")["ok"], false, "{ready}");
    assert_eq!(get_json(addr, "/health").await.0, 200);
}
