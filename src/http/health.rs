//! Liveness and readiness (`"type": "health"` and `"type": "ready"`), for load balancers and
//! orchestrators. `health` answers 200 while the process serves requests. `ready` answers 200
//! when every check passes and 503 otherwise, with a JSON body naming each check:
//!
//! - `listeners`: every configured listener is bound (one that is not is named, with the OS
//!   error: `1 of 2 up; tcp 127.0.0.1:8080 (transports[1]): Address already in use ...`);
//! - `store:<realm>`: the realm's store, and how many of its writes failed (a failed write
//!   makes the check fail: events are being lost); a store another process holds fails it,
//!   named with the reason, until it opens (see `router::store_retry`);
//! - `cluster`: connected to NATS, when a cluster is configured;
//! - `shutdown`: the node is not shutting down (a load balancer should stop sending first).
//!
//! Poller topics are listed with their last success and last error, but a poller in error does
//! not make the node unready: its upstream is down, not this node.

use std::time::Instant;

use hyper::StatusCode;
use serde_json::{Value as Json, json};

use crate::http::response::{self, HttpResponse};
use crate::poller::supervisor::Pollers;
use crate::router::Router;
use crate::router::store_retry::RETRY_EVERY;

/// 200 and what this process is, for as long as it answers at all.
pub fn health(started: Instant) -> HttpResponse {
    let body = json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": started.elapsed().as_secs(),
    });
    response::json(StatusCode::OK, &body, None)
}

/// One named check of readiness.
fn check(name: &str, ok: bool, detail: String) -> Json {
    json!({"name": name, "ok": ok, "detail": detail})
}

/// 200 when the node is ready to serve, 503 when not; both with every check.
pub async fn ready(router: &Router, pollers: &Pollers) -> HttpResponse {
    let mut checks = Vec::new();
    let (up, expected) = router.listeners();
    let mut listeners = format!("{up} of {expected} up");
    for down in router.listeners_down() {
        listeners.push_str("; ");
        listeners.push_str(&down);
    }
    checks.push(check("listeners", up >= expected, listeners));
    let mut cluster = None;
    for name in router.realm_names() {
        let Some(realm) = router.realm(&name) else {
            continue;
        };
        let (durable, failed) = realm.store_health();
        let kind = if durable { "embedded" } else { "memory" };
        let (ok, detail) = match (realm.store_waiting(), failed) {
            (Some(why), _) => (
                false,
                format!("{why}; opening it again every {}s", RETRY_EVERY.as_secs()),
            ),
            (None, 0) => (true, format!("{kind} store open")),
            (None, n) => (
                false,
                format!("{kind} store open; {n} write(s) failed since start"),
            ),
        };
        checks.push(check(&format!("store:{name}"), ok, detail));
        if cluster.is_none() {
            cluster = realm.backplane().map(|b| b.connected());
        }
    }
    checks.push(match cluster {
        None => check("cluster", true, "no cluster configured".into()),
        Some((true, node)) => check("cluster", true, format!("node {node} connected to NATS")),
        Some((false, node)) => check(
            "cluster",
            false,
            format!("node {node} not connected to NATS"),
        ),
    });
    let stopping = router.shutting_down();
    let shutdown = if stopping { "shutting down" } else { "serving" };
    checks.push(check("shutdown", !stopping, shutdown.into()));
    let ready = checks.iter().all(|c| c["ok"] == true);
    let mut topics = Vec::new();
    for realm in pollers.realms() {
        for view in realm.list().await {
            topics.push(json!({
                "realm": realm.realm_name(),
                "topic": view["name"],
                "lastSuccess": view["lastSuccess"],
                "lastError": view["lastError"],
                "polls": view["polls"],
            }));
        }
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({"ready": ready, "checks": checks, "pollers": topics});
    response::json(status, &body, None)
}
