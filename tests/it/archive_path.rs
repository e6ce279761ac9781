//! `archive` paths against an in-process router: members of a ZIP file (written here with the
//! `zip` crate) with their content types, `default_object`, `object_prefix`, `mime_types`,
//! `options.default_file`, ETag and `If-None-Match`, caching headers only with `cache`, HEAD,
//! 404 JSON for a missing member, no member with `..` in its name ever served, and the archive
//! downloaded from `origin` at start (checked against `hashes`) when the file is missing.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::common;
use crate::upstream::{Reply, Upstream};
use common::bridge::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

/// A ZIP of `members` (name, content), as bytes.
fn zip_bytes(members: &[(&str, &str)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in members {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

const MEMBERS: &[(&str, &str)] = &[
    ("index.html", "<html>home</html>"),
    ("js/app.js", "console.log(1);"),
    ("docs/index.html", "<html>docs</html>"),
    ("pkg-1.0/autobahn.min.js", "var autobahn;"),
    ("pkg-1.0/data.bin", "0123"),
    ("../evil.txt", "outside"),
    ("/abs.txt", "absolute"),
];

fn site() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("site.zip");
    std::fs::write(&file, zip_bytes(MEMBERS)).unwrap();
    (dir, file)
}

fn router(paths: Value) -> InProcess {
    let mut table = json!({"ws": {"type": "websocket"}});
    for (key, value) in paths.as_object().unwrap() {
        table[key] = value.clone();
    }
    InProcess::start(&common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        vec![web(table, Value::Null)],
    ))
}

async fn get(addr: std::net::SocketAddr, target: &str, headers: &[&str]) -> HttpResponse {
    request(addr, "GET", target, headers, b"").await
}

fn archive(file: &Path, options: Value) -> Value {
    let mut path = json!({"type": "archive", "archive": file.to_str().unwrap()});
    for (key, value) in options.as_object().unwrap() {
        path[key] = value.clone();
    }
    path
}

#[tokio::test]
async fn members_types_default_object_and_caching() {
    let (_dir, file) = site();
    let router = router(json!({
        "/": archive(&file, json!({"default_object": "index.html", "cache": true})),
        "lib": archive(&file, json!({
            "object_prefix": "pkg-1.0/", "default_object": "autobahn.min.js",
            "mime_types": {".min.js": "text/x-custom", ".BIN": "application/x-test"}
        })),
    }));
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
    let tag = home.header("etag").unwrap().to_string();

    let script = get(addr, "/js/app.js", &[]).await;
    assert_eq!(script.body, b"console.log(1);");
    assert!(
        script
            .header("content-type")
            .unwrap()
            .contains("javascript")
    );
    let docs = get(addr, "/docs/", &[]).await;
    assert_eq!(
        docs.body, b"<html>docs</html>",
        "default_object in a folder"
    );

    let same = get(addr, "/", &[&format!("If-None-Match: {tag}")]).await;
    assert_eq!(same.status, 304);
    assert!(same.body.is_empty());
    assert_eq!(same.header("etag"), Some(tag.as_str()));
    let other = get(addr, "/index.html", &["If-None-Match: \"other\""]).await;
    assert_eq!(other.status, 200);

    let head = request(addr, "HEAD", "/js/app.js", &[], b"").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("15"));
    assert!(head.body.is_empty());
    let post = request(addr, "POST", "/index.html", &[], b"{}").await;
    assert_eq!(post.status, 405);

    let missing = get(addr, "/nothing.html", &[]).await;
    assert_eq!(missing.status, 404);
    let body: Value = serde_json::from_slice(&missing.body).unwrap();
    assert_eq!(body["error"], "no file at /nothing.html");

    // The WebSocket path is still the WebSocket path (a plain GET gets its status page).
    let ws = get(addr, "/ws", &[]).await;
    assert!(
        String::from_utf8_lossy(&ws.body).contains("WAMP WebSocket endpoint"),
        "{ws:?}"
    );

    let lib = get(addr, "/lib", &[]).await;
    assert_eq!(lib.status, 200);
    assert_eq!(lib.body, b"var autobahn;");
    assert_eq!(lib.header("content-type"), Some("text/x-custom"));
    assert_eq!(
        lib.header("cache-control"),
        None,
        "no caching without cache"
    );
    assert!(lib.header("etag").is_some());
    assert_eq!(get(addr, "/lib/", &[]).await.body, b"var autobahn;");
    let data = get(addr, "/lib/data.bin", &[]).await;
    assert_eq!(data.header("content-type"), Some("application/x-test"));
    assert_eq!(
        get(addr, "/lib/index.html", &[]).await.status,
        404,
        "only members under object_prefix"
    );
}

#[tokio::test]
async fn no_member_outside_the_archive_is_served() {
    let (_dir, file) = site();
    let router = router(json!({
        "/": archive(&file, json!({})),
        "app": archive(&file, json!({"options": {"default_file": "index.html"}})),
    }));
    let addr = router.addrs[0];
    for target in [
        "/../evil.txt",
        "/%2e%2e/evil.txt",
        "/js/%2E%2E/%2E%2E/evil.txt",
        "/abs.txt",
        "//abs.txt",
        "/js/..%5c..%5cevil.txt",
    ] {
        let answer = get(addr, target, &[]).await;
        assert_eq!(answer.status, 404, "{target}");
        assert!(!String::from_utf8_lossy(&answer.body).contains("outside"));
    }
    // `default_file` answers paths that name no member; a path with `..` is still a 404.
    let spa = get(addr, "/app/some/route", &[]).await;
    assert_eq!(spa.status, 200);
    assert_eq!(spa.body, b"<html>home</html>");
    assert_eq!(get(addr, "/app/%2e%2e/evil.txt", &[]).await.status, 404);
}

// Multi-threaded: the upstream answers while `InProcess::start` blocks this thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_archive_is_downloaded_from_origin_at_start() {
    let zip = zip_bytes(&[("dist/autobahn.js", "var ab;")]);
    let hash = hex::encode(Sha256::digest(&zip));
    let upstream = Upstream::start().await;
    upstream.route(
        "/v1.zip",
        vec![Reply {
            status: 200,
            headers: vec![],
            body: zip.clone(),
        }],
    );
    upstream.route("/broken.zip", vec![Reply::text(200, "not a zip")]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("autobahn.zip");
    let router = router(json!({
        "autobahn": archive(&file, json!({
            "origin": upstream.url("/v1.zip"), "download": true, "hashes": [hash],
            "object_prefix": "dist", "default_object": "autobahn.js"
        })),
    }));
    let answer = get(router.addrs[0], "/autobahn", &[]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, b"var ab;");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        zip,
        "kept for the next start"
    );

    // A download that fails, or is not the archive `hashes` names, fails the start and leaves
    // no file.
    let other = dir.path().join("other.zip");
    for (route, hashes, expected) in [
        (
            "/v1.zip",
            json!(["0".repeat(64)]),
            "which is not one of \"hashes\"",
        ),
        ("/broken.zip", json!([]), "is not a ZIP archive"),
        ("/gone.zip", json!([]), "the server answered 418"),
    ] {
        let json = common::config(
            vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
            vec![web(
                json!({"x": archive(&other, json!({
                    "origin": upstream.url(route), "download": true, "hashes": hashes
                }))}),
                Value::Null,
            )],
        );
        let config = junction::config::load_str(&json.to_string()).unwrap();
        let error = junction::http::archive_download::download_missing(&config)
            .await
            .unwrap_err();
        assert!(error.contains(".paths./x: cannot download"), "{error}");
        assert!(error.contains(expected), "{error}");
        assert!(!other.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no .part left"
        );
    }
}

/// `junction check` as a real process: relative paths resolved against the config's folder,
/// a summary line per path, and a `wsgi` path refused with what to run instead.
#[test]
fn check_summarises_archive_and_cgi_paths_and_lists_wsgi_as_not_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.zip"), zip_bytes(MEMBERS)).unwrap();
    std::fs::create_dir(dir.path().join("cgi")).unwrap();
    let check = |paths: Value| {
        let config = common::config(
            vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
            vec![web(paths, Value::Null)],
        );
        let file = dir.path().join("config.json");
        std::fs::write(&file, config.to_string()).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_junction"))
            .args(["check", "--config"])
            .arg(&file)
            .output()
            .unwrap()
    };
    let good = check(json!({
        "/": {"type": "archive", "archive": "site.zip", "default_object": "index.html"},
        "cgi-bin": {"type": "cgi", "directory": "cgi", "processor": "/bin/sh"},
    }));
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let folder = dir.path().canonicalize().unwrap();
    assert!(
        stdout.contains(&format!(
            "/: files from ZIP archive {}/site.zip (default object index.html, no caching)",
            dir.path().display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "/cgi-bin: cgi scripts from {}/cgi (run by /bin/sh, timeout 30000 ms",
            folder.display()
        )),
        "{stdout}"
    );

    let wsgi = check(json!({"/": {"type": "wsgi", "module": "app.wsgi", "object": "application"}}));
    assert!(wsgi.status.success(), "a wsgi path is listed as not run");
    let stdout = String::from_utf8_lossy(&wsgi.stdout);
    assert!(
        stdout.contains(
            "workers[0].transports[0].paths./: \"wsgi\" path (Python code inside Crossbar)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("gunicorn --bind 127.0.0.1:8000 app.wsgi:application"),
        "{stdout}"
    );
}
