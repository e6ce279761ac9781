//! `static` paths against an in-process router: files with their content types, index.html
//! for directories, `default_file` for paths that name no file, `mime_types`,
//! `cache_timeout`, Range, conditional requests and HEAD, a directory listing only when
//! enabled, and no way out of the directory (`..` written or percent-encoded, symbolic links).

use std::path::Path;

use crate::common;
use common::bridge::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    std::fs::create_dir_all(root.join("js")).unwrap();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("index.html"), "<html>home</html>").unwrap();
    std::fs::write(root.join("js/app.js"), "console.log(1);").unwrap();
    std::fs::write(root.join("data.wasm2"), "0123456789").unwrap();
    std::fs::write(root.join("docs/a <b>.txt"), "a").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
    dir
}

fn router(site: &Path, paths: Value) -> InProcess {
    let mut table = json!({"ws": {"type": "websocket"}});
    for (key, value) in paths.as_object().unwrap() {
        let mut value = value.clone();
        value["directory"] = json!(site.join("site").to_str().unwrap());
        table[key] = value;
    }
    InProcess::start(&common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        vec![web(table, Value::Null)],
    ))
}

async fn get(addr: std::net::SocketAddr, target: &str, headers: &[&str]) -> HttpResponse {
    request(addr, "GET", target, headers, b"").await
}

#[tokio::test]
async fn files_directories_types_and_caching() {
    let site = site();
    let router = router(site.path(), json!({"/": {"type": "static"}}));
    let addr = router.addrs[0];

    let home = get(addr, "/", &[]).await;
    assert_eq!(home.status, 200);
    assert_eq!(home.body, b"<html>home</html>");
    assert!(
        home.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(home.header("cache-control"), Some("max-age=43200, public"));
    assert!(home.header("expires").unwrap().ends_with("GMT"));
    assert_eq!(home.header("access-control-allow-origin"), Some("*"));

    let script = get(addr, "/js/app.js", &[]).await;
    assert_eq!(script.status, 200);
    assert_eq!(script.body, b"console.log(1);");
    assert!(
        script
            .header("content-type")
            .unwrap()
            .contains("javascript")
    );

    // The WebSocket path is still the WebSocket path (a plain GET gets its status page).
    let ws = get(addr, "/ws", &[]).await;
    assert!(
        String::from_utf8_lossy(&ws.body).contains("WAMP WebSocket endpoint"),
        "{ws:?}"
    );

    let missing = get(addr, "/nothing.html", &[]).await;
    assert_eq!(missing.status, 404);
    let body: Value = serde_json::from_slice(&missing.body).unwrap();
    assert!(body["error"].as_str().unwrap().contains("/nothing.html"));

    // A directory without index.html is not listed unless enabled.
    assert_eq!(get(addr, "/docs/", &[]).await.status, 404);

    let post = request(addr, "POST", "/index.html", &[], b"{}").await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn range_conditional_requests_and_head() {
    let site = site();
    let router = router(site.path(), json!({"/": {"type": "static"}}));
    let addr = router.addrs[0];

    let part = get(addr, "/data.wasm2", &["Range: bytes=2-5"]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, b"2345");
    assert_eq!(part.header("content-range"), Some("bytes 2-5/10"));

    let whole = get(addr, "/data.wasm2", &[]).await;
    let modified = whole
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();
    let again = get(
        addr,
        "/data.wasm2",
        &[&format!("If-Modified-Since: {modified}")],
    )
    .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    let tag = whole.header("etag").expect("ETag").to_string();
    let same = get(addr, "/data.wasm2", &[&format!("If-None-Match: {tag}")]).await;
    assert_eq!(same.status, 304);
    assert_eq!(same.header("etag"), Some(tag.as_str()));
    assert!(same.body.is_empty());
    let other = get(addr, "/data.wasm2", &["If-None-Match: W/\"other\""]).await;
    assert_eq!(other.status, 200);
    assert_eq!(other.body, b"0123456789");

    let head = request(addr, "HEAD", "/js/app.js", &[], b"").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("15"));
}

#[tokio::test]
async fn nothing_outside_the_directory_is_served() {
    let site = site();
    let router = router(site.path(), json!({"/": {"type": "static"}}));
    let addr = router.addrs[0];
    for target in [
        "/../secret.txt",
        "/js/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/js/%2e%2e/%2e%2e/secret.txt",
        "/..%5csecret.txt",
        "/link.txt",
        "/up/secret.txt",
        "/%00",
    ] {
        let answer = get(addr, target, &[]).await;
        assert!(
            answer.status == 404 || answer.status == 400,
            "{target}: {} {:?}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        assert!(
            !String::from_utf8_lossy(&answer.body).contains("outside"),
            "{target} leaked the file outside"
        );
    }
}

#[tokio::test]
async fn options_default_file_mime_types_listing_and_a_sub_path() {
    let site = site();
    let router = router(
        site.path(),
        json!({
            "/": {"type": "static", "options": {
                "default_file": "index.html",
                "mime_types": {".wasm2": "application/wasm"},
                "cache_timeout": 0,
                "allow_cross_origin": false
            }},
            "/files": {"type": "static", "options": {"enable_directory_listing": true}}
        }),
    );
    let addr = router.addrs[0];

    // A single-page app: any path that names no file gets index.html, with 200.
    let app = get(addr, "/some/route", &[]).await;
    assert_eq!(app.status, 200);
    assert_eq!(app.body, b"<html>home</html>");
    assert_eq!(app.header("cache-control"), None);
    assert_eq!(app.header("access-control-allow-origin"), None);

    let wasm = get(addr, "/data.wasm2", &[]).await;
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));

    // The longer path wins, and serves the same directory below it.
    let script = get(addr, "/files/js/app.js", &[]).await;
    assert_eq!(script.body, b"console.log(1);");
    let listing = get(addr, "/files/docs/", &[]).await;
    assert_eq!(listing.status, 200);
    let html = String::from_utf8_lossy(&listing.body);
    assert!(html.contains("a &lt;b&gt;.txt"), "{html}");
    assert!(!html.contains("<b>"), "names are escaped: {html}");
}

/// A `directory` that does not exist loads (as in Crossbar; `junction check` warns) and the
/// path answers 404 with a JSON body, also for a `default_file`.
#[tokio::test]
async fn a_missing_directory_answers_404() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-yet").join("..").join("gone");
    let paths = json!({
        "ws": {"type": "websocket"},
        "/": {"type": "static", "directory": missing.to_str().unwrap(),
              "options": {"default_file": "index.html"}}
    });
    let router = InProcess::start(&common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        vec![web(paths, Value::Null)],
    ));
    for target in ["/", "/index.html", "/a/b.js"] {
        let answer = get(router.addrs[0], target, &[]).await;
        assert_eq!(answer.status, 404, "{target}");
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        assert!(body["error"].is_string(), "{target}: {body}");
    }
}
