//! The small web services of a path table against an in-process router: `redirect` (this path
//! and below, 302 or the configured status), `json` (a fixed document and its options),
//! `nodeinfo` (version, realms, uptime) and `none` (404).

use crate::common;
use common::bridge::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

fn router() -> InProcess {
    let paths = json!({
        "ws": {"type": "websocket"},
        "/": {"type": "none"},
        "old": {"type": "redirect", "url": "https://example.com/new"},
        "moved": {"type": "redirect", "url": "/info", "status": 301},
        "config": {"type": "json", "value": {"b": [1, 2], "a": "x"}},
        "pretty": {"type": "json", "value": {"a": 1},
                   "options": {"prettify": true, "allow_cross_origin": false,
                               "discourage_caching": true}},
        "info": {"type": "nodeinfo"}
    });
    InProcess::start(&common::config(
        vec![
            json!({"name": "realm1", "roles": [full_access_role("anonymous")]}),
            json!({"name": "<realm2>", "roles": [full_access_role("anonymous")]}),
        ],
        vec![web(paths, Value::Null)],
    ))
}

async fn get(addr: std::net::SocketAddr, target: &str) -> HttpResponse {
    request(addr, "GET", target, &[], b"").await
}

#[tokio::test]
async fn redirects_json_nodeinfo_and_nothing() {
    let router = router();
    let addr = router.addrs[0];

    let old = get(addr, "/old").await;
    assert_eq!(old.status, 302);
    assert_eq!(old.header("location"), Some("https://example.com/new"));
    let below = get(addr, "/old/page.html?x=1").await;
    assert_eq!(below.status, 302, "everything below redirects too");
    assert_eq!(below.header("location"), Some("https://example.com/new"));
    let moved = get(addr, "/moved").await;
    assert_eq!(moved.status, 301);
    assert_eq!(moved.header("location"), Some("/info"));
    assert_eq!(request(addr, "POST", "/old", &[], b"{}").await.status, 405);

    let config = get(addr, "/config").await;
    assert_eq!(config.status, 200);
    assert_eq!(
        config.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(config.header("access-control-allow-origin"), Some("*"));
    let value: Value = serde_json::from_slice(&config.body).unwrap();
    assert_eq!(value, json!({"a": "x", "b": [1, 2]}));
    assert!(!String::from_utf8_lossy(&config.body).contains('\n'));

    let pretty = get(addr, "/pretty").await;
    assert!(String::from_utf8_lossy(&pretty.body).contains("\n  \"a\": 1"));
    assert_eq!(pretty.header("access-control-allow-origin"), None);
    assert!(pretty.header("cache-control").unwrap().contains("no-store"));

    let info = get(addr, "/info").await;
    assert_eq!(info.status, 200);
    let page = String::from_utf8_lossy(&info.body);
    assert!(page.contains(env!("CARGO_PKG_VERSION")), "{page}");
    assert!(page.contains("realm1"), "{page}");
    assert!(
        page.contains("&lt;realm2&gt;"),
        "realm names are escaped: {page}"
    );
    assert!(page.contains("uptime"), "{page}");

    let nothing = get(addr, "/").await;
    assert_eq!(nothing.status, 404);
    let body: Value = serde_json::from_slice(&nothing.body).unwrap();
    assert_eq!(body["error"], "no service at /");
}

/// A `path` entry is a nested path table: `/` in it is the entry's own path, other keys are
/// below it, and nesting goes on (Crossbar's `"type": "path"`).
#[tokio::test]
async fn nested_path_tables() {
    let paths = json!({
        "ws": {"type": "websocket"},
        "app": {"type": "path", "paths": {
            "/": {"type": "json", "value": "app root"},
            "config": {"type": "json", "value": {"level": 1}},
            "deeper": {"type": "path", "paths": {
                "info": {"type": "nodeinfo"},
                "old": {"type": "redirect", "url": "/app"}
            }}
        }}
    });
    let router = InProcess::start(&common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        vec![web(paths, Value::Null)],
    ));
    let addr = router.addrs[0];
    let root = get(addr, "/app").await;
    assert_eq!(root.status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&root.body).unwrap(),
        "app root"
    );
    assert_eq!(get(addr, "/app/").await.status, 200);
    let config = get(addr, "/app/config").await;
    assert_eq!(
        serde_json::from_slice::<Value>(&config.body).unwrap(),
        json!({"level": 1})
    );
    let info = get(addr, "/app/deeper/info").await;
    assert_eq!(info.status, 200);
    assert!(String::from_utf8_lossy(&info.body).contains("realm1"));
    let old = get(addr, "/app/deeper/old/x").await;
    assert_eq!(old.status, 302);
    assert_eq!(old.header("location"), Some("/app"));
    assert_eq!(
        get(addr, "/app/deeper").await.status,
        404,
        "no \"/\" in deeper"
    );
    assert_eq!(get(addr, "/config").await.status, 404);
}

/// Paths that run Python code inside Crossbar (`wsgi`, `resource`, `wap`) load, listed as not
/// run, and answer 501 with what to run instead; the rest of the table is served.
#[tokio::test]
async fn python_paths_answer_501_with_what_to_run_instead() {
    let paths = json!({
        "ws": {"type": "websocket"},
        "app": {"type": "wsgi", "module": "myapp.wsgi", "object": "application"},
        "info": {"type": "nodeinfo"}
    });
    let router = InProcess::start(&common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        vec![web(paths, Value::Null)],
    ));
    let addr = router.addrs[0];
    let app = get(addr, "/app").await;
    assert_eq!(app.status, 501);
    let body: Value = serde_json::from_slice(&app.body).unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("not run by Junction") && error.contains("myapp.wsgi:application"),
        "{body}"
    );
    assert_eq!(get(addr, "/info").await.status, 200);
}
