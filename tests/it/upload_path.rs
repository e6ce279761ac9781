//! `upload` paths against the real binary: a file sent as three multipart chunks (resumable.js's
//! field names) with GET telling which chunks are there (resume), the file assembled in
//! `directory` with its bytes and `file_permissions`, chunks kept across a restart, progress
//! events to a WAMP subscriber in Crossbar's shape, and refusals as JSON errors: names that
//! would leave the folder, files too large or of other types, malformed requests.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common;
use common::bridge::*;
use common::*;
use serde_json::{Value, json};

const TOPIC: &str = "com.example.upload.progress";
const BOUNDARY: &str = "----junction-test-boundary-7MA4YWxkTrZu0gW";

/// resumable.js's field names, as in Crossbar's file upload example.
fn form_fields() -> Value {
    json!({
        "file_name": "resumableFilename",
        "mime_type": "resumableType",
        "total_size": "resumableTotalSize",
        "chunk_number": "resumableChunkNumber",
        "chunk_size": "resumableChunkSize",
        "total_chunks": "resumableTotalChunks",
        "content": "file",
        "on_progress": "on_progress",
        "session": "session",
        "chunk_extra": "chunk_extra",
        "finish_extra": "finish_extra"
    })
}

/// A router with `/ws` and an `upload` path at `/upload` writing to `<dir>/uploaded`, with
/// chunks in `<dir>/temp`.
fn router(dir: &Path) -> Router {
    router_with(dir, json!({}))
}

/// [`router`] with more `options`.
fn router_with(dir: &Path, more: Value) -> Router {
    std::fs::create_dir_all(dir.join("uploaded")).unwrap();
    std::fs::create_dir_all(dir.join("temp")).unwrap();
    let paths = json!({
        "ws": {"type": "websocket"},
        "upload": {
            "type": "upload", "realm": "realm1", "role": "anonymous",
            "directory": dir.join("uploaded").to_str().unwrap(),
            "temp_directory": dir.join("temp").to_str().unwrap(),
            "form_fields": form_fields(),
            "options": {"max_file_size": 1000, "file_types": [".bin", ".txt"],
                        "file_permissions": "0640"}
        }
    });
    let mut paths = paths;
    for (key, value) in more.as_object().unwrap() {
        paths["upload"]["options"][key] = value.clone();
    }
    Router::start(&common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        vec![web(paths, Value::Null)],
    ))
}

/// A multipart/form-data body: text fields, then the file content (as resumable.js sends it).
fn multipart(fields: &[(&str, String)], content: Option<&[u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some(bytes) = content {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The fields of chunk `number` of `name` (`total` bytes in `chunks` chunks of `chunk_size`).
fn chunk_fields(
    name: &str,
    number: u64,
    chunk_size: u64,
    total: usize,
    chunks: u64,
) -> Vec<(&'static str, String)> {
    vec![
        ("resumableChunkNumber", number.to_string()),
        ("resumableChunkSize", chunk_size.to_string()),
        ("resumableTotalSize", total.to_string()),
        ("resumableType", "application/octet-stream".to_string()),
        ("resumableFilename", name.to_string()),
        ("resumableTotalChunks", chunks.to_string()),
    ]
}

async fn post(addr: std::net::SocketAddr, body: &[u8]) -> HttpResponse {
    let content_type = format!("Content-Type: multipart/form-data; boundary={BOUNDARY}");
    request(addr, "POST", "/upload", &[&content_type], body).await
}

/// GET /upload?resumableFilename=NAME&resumableChunkNumber=N: is that chunk there?
async fn has_chunk(addr: std::net::SocketAddr, name: &str, number: u64) -> HttpResponse {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("resumableFilename", name)
        .append_pair("resumableChunkNumber", &number.to_string())
        .append_pair("resumableTotalChunks", "3")
        .finish();
    request(addr, "GET", &format!("/upload?{query}"), &[], b"").await
}

/// A refusal: `status`, a JSON `{"error", "args", "kwargs"}` body, and no CORS headers (as
/// Crossbar's upload service: pages of other origins may not read the answers). Returns the
/// message.
#[track_caller]
fn assert_refused(res: &HttpResponse, status: u16) -> String {
    assert_eq!(
        res.status,
        status,
        "{res:?} {}",
        String::from_utf8_lossy(&res.body)
    );
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:?}");
    let body = res.json();
    assert_eq!(body["args"], json!([]), "{body}");
    assert_eq!(body["kwargs"], json!({}), "{body}");
    let message = body["error"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty(), "error message: {body}");
    message
}

/// The progress event payload (a dict, the only positional argument) of the next EVENT.
async fn next_progress(client: &mut Client) -> Value {
    let (_, _, args, _) = next_event(client).await;
    assert_eq!(
        args.as_array().map(Vec::len),
        Some(1),
        "one argument: {args}"
    );
    args[0].clone()
}

#[tokio::test]
async fn a_file_in_three_chunks_resumes_assembles_and_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let router = router(dir.path());
    let addr = router.addrs[0];
    let mut subscriber = router.json().await;
    let session = subscriber.join("realm1").await;
    subscriber.subscribe(TOPIC, json!({})).await;

    // 250 bytes in chunks of 100: 100, 100, 50 (every byte value, so nothing is text-only).
    let file: Vec<u8> = (0..250u32).map(|i| (i * 7 % 256) as u8).collect();
    let chunk = |n: u64| &file[(n as usize - 1) * 100..(n as usize * 100).min(file.len())];
    let send = |n: u64| {
        let mut fields = chunk_fields("data.bin", n, 100, file.len(), 3);
        fields.push(("on_progress", TOPIC.to_string()));
        fields.push(("session", session.to_string()));
        fields.push(("chunk_extra", json!({"n": n}).to_string()));
        fields.push(("finish_extra", json!({"batch": "b-17"}).to_string()));
        multipart(&fields, Some(chunk(n)))
    };

    // Nothing there yet: resumable.js would upload chunk 1.
    assert_eq!(has_chunk(addr, "data.bin", 1).await.status, 404);

    let first = post(addr, &send(1)).await;
    assert_eq!(first.header("access-control-allow-origin"), None);
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    assert_eq!(first.json()["finished"], json!(false), "{}", first.json());
    let started = next_progress(&mut subscriber).await;
    assert_eq!(started["status"], "started", "{started}");
    assert_eq!(started["id"], "data.bin");
    assert_eq!(started["name"], "data.bin");
    assert_eq!(started["chunk"], 1);
    assert_eq!(started["total"], 250);
    assert_eq!(started["remaining"], 250);
    assert_eq!(started["progress"], 0.0);
    assert_eq!(started["chunk_extra"], json!({"n": 1}));
    let progress = next_progress(&mut subscriber).await;
    assert_eq!(progress["status"], "progress", "{progress}");
    assert_eq!(progress["remaining"], 150);
    assert_eq!(progress["progress"], 0.4);

    // Resume: chunk 1 is there, chunk 2 is not.
    let there = has_chunk(addr, "data.bin", 1).await;
    assert_eq!(
        there.status,
        200,
        "{}",
        String::from_utf8_lossy(&there.body)
    );
    assert_refused(&has_chunk(addr, "data.bin", 2).await, 404);

    // The last chunk first, then the middle one: the file is whole after the middle one.
    assert_eq!(post(addr, &send(3)).await.status, 200);
    let after_third = next_progress(&mut subscriber).await;
    assert_eq!(
        (
            after_third["status"].clone(),
            after_third["remaining"].clone()
        ),
        (json!("progress"), json!(100))
    );
    assert!(
        !dir.path().join("uploaded/data.bin").exists(),
        "not whole yet"
    );
    let last = post(addr, &send(2)).await;
    assert_eq!(last.status, 200, "{}", String::from_utf8_lossy(&last.body));
    assert_eq!(last.json()["finished"], json!(true), "{}", last.json());
    let after_second = next_progress(&mut subscriber).await;
    assert_eq!(after_second["remaining"], 0, "{after_second}");
    let finished = next_progress(&mut subscriber).await;
    assert_eq!(finished["status"], "finished", "{finished}");
    assert_eq!(finished["remaining"], 0);
    assert_eq!(finished["progress"], 1.0);
    assert_eq!(finished["chunk"], 2);
    assert_eq!(finished["finish_extra"], json!({"batch": "b-17"}));

    let written = dir.path().join("uploaded/data.bin");
    assert_eq!(
        std::fs::read(&written).unwrap(),
        file,
        "the assembled bytes"
    );
    let mode = std::fs::metadata(&written).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640, "file_permissions");
    let left: Vec<_> = std::fs::read_dir(dir.path().join("temp"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "the chunks are gone: {left:?}");
    // Whole files are not chunks in progress: uploading it again starts over.
    assert_eq!(has_chunk(addr, "data.bin", 1).await.status, 404);
}

#[tokio::test]
async fn a_one_chunk_file_without_progress_topic() {
    let dir = tempfile::tempdir().unwrap();
    let router = router(dir.path());
    let body = multipart(&chunk_fields("note.txt", 1, 1024, 5, 1), Some(b"hello"));
    let res = post(router.addrs[0], &body).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        std::fs::read(dir.path().join("uploaded/note.txt")).unwrap(),
        b"hello"
    );
}

#[tokio::test]
async fn an_upload_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = b"first half|second half".to_vec();
    let fields = |n: u64| chunk_fields("log.txt", n, 11, file.len(), 2);
    let first = router(dir.path());
    let body = multipart(&fields(1), Some(&file[..11]));
    assert_eq!(post(first.addrs[0], &body).await.status, 200);
    drop(first);

    let second = router(dir.path());
    let addr = second.addrs[0];
    assert_eq!(
        has_chunk(addr, "log.txt", 1).await.status,
        200,
        "chunk 1 survived"
    );
    assert_refused(&has_chunk(addr, "log.txt", 2).await, 404);
    let res = post(addr, &multipart(&fields(2), Some(&file[11..]))).await;
    assert_eq!(res.json()["finished"], json!(true), "{}", res.json());
    assert_eq!(
        std::fs::read(dir.path().join("uploaded/log.txt")).unwrap(),
        file
    );
}

#[tokio::test]
async fn names_that_leave_the_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let router = router(dir.path());
    let addr = router.addrs[0];
    for name in [
        "../evil.txt",
        "a/b.txt",
        "..",
        ".hidden.txt",
        "a\\b.txt",
        "/etc/x.txt",
        "",
    ] {
        let body = multipart(&chunk_fields(name, 1, 100, 4, 1), Some(b"evil"));
        let res = post(addr, &body).await;
        let message = assert_refused(&res, 400);
        assert!(message.contains("file name"), "{name:?}: {message}");
        let res = has_chunk(addr, name, 1).await;
        assert_refused(&res, 400);
    }
    assert!(!dir.path().join("evil.txt").exists());
    let uploaded: Vec<_> = std::fs::read_dir(dir.path().join("uploaded"))
        .unwrap()
        .collect();
    assert!(uploaded.is_empty(), "{uploaded:?}");
    let temp: Vec<_> = std::fs::read_dir(dir.path().join("temp"))
        .unwrap()
        .collect();
    assert!(
        temp.is_empty(),
        "no chunk and no partial file left: {temp:?}"
    );
}

#[tokio::test]
async fn too_large_other_types_and_malformed_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let router = router(dir.path());
    let addr = router.addrs[0];

    // max_file_size is 1000: the announced size decides, before anything is kept.
    let big = multipart(&chunk_fields("big.bin", 1, 1001, 1001, 1), Some(&[0; 10]));
    let message = assert_refused(&post(addr, &big).await, 413);
    assert!(message.contains("1000"), "{message}");
    // A chunk larger than the whole file it belongs to.
    let lying = multipart(&chunk_fields("lie.bin", 1, 10, 10, 1), Some(&[0; 1200]));
    assert_refused(&post(addr, &lying).await, 413);

    let other = multipart(&chunk_fields("run.exe", 1, 4, 4, 1), Some(b"MZ.."));
    let message = assert_refused(&post(addr, &other).await, 415);
    assert!(message.contains(".exe"), "{message}");

    let no_content = multipart(&chunk_fields("a.txt", 1, 4, 4, 1), None);
    let message = assert_refused(&post(addr, &no_content).await, 400);
    assert!(message.contains("file"), "{message}");
    let mut fields = chunk_fields("a.txt", 4, 4, 4, 3);
    let message = assert_refused(&post(addr, &multipart(&fields, Some(b"abcd"))).await, 400);
    assert!(message.contains("resumableChunkNumber"), "{message}");
    fields[0].1 = "one".to_string();
    let message = assert_refused(&post(addr, &multipart(&fields, Some(b"abcd"))).await, 400);
    assert!(message.contains("resumableChunkNumber"), "{message}");
    let json_body = request(addr, "POST", "/upload", &[], b"{}").await;
    assert_refused(&json_body, 415);
    assert_refused(&request(addr, "DELETE", "/upload", &[], b"").await, 405);
    assert_refused(&request(addr, "OPTIONS", "/upload", &[], b"").await, 405);

    let uploaded: Vec<_> = std::fs::read_dir(dir.path().join("uploaded"))
        .unwrap()
        .collect();
    assert!(uploaded.is_empty(), "{uploaded:?}");
    let temp: Vec<_> = std::fs::read_dir(dir.path().join("temp"))
        .unwrap()
        .collect();
    assert!(temp.is_empty(), "{temp:?}");
}

/// Unfinished uploads are bounded: at most `max_pending_uploads` at once (a new one past it
/// gets 503, a chunk of one already started is still taken), and one left alone for
/// `pending_upload_timeout` seconds is dropped, so clients that start uploads and walk away
/// cannot fill the temp directory.
#[tokio::test]
async fn unfinished_uploads_are_bounded_and_abandoned_ones_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let router = router_with(
        dir.path(),
        json!({"max_pending_uploads": 2, "pending_upload_timeout": 2}),
    );
    let addr = router.addrs[0];
    let half = |name: &str, n: u64| multipart(&chunk_fields(name, n, 3, 6, 2), Some(b"abc"));
    assert_eq!(post(addr, &half("a.txt", 1)).await.status, 200);
    assert_eq!(post(addr, &half("b.txt", 1)).await.status, 200);
    let message = assert_refused(&post(addr, &half("c.txt", 1)).await, 503);
    assert!(message.contains("max_pending_uploads"), "{message}");
    // A started upload goes on, and once finished it frees its place.
    let done = post(addr, &half("a.txt", 2)).await;
    assert_eq!(done.json()["finished"], json!(true), "{}", done.json());
    assert_eq!(post(addr, &half("c.txt", 1)).await.status, 200);
    assert_refused(&post(addr, &half("d.txt", 1)).await, 503);
    // b.txt and c.txt are left alone: past the timeout they are dropped.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(post(addr, &half("d.txt", 1)).await.status, 200);
    assert!(
        !dir.path().join("temp/b.txt").exists(),
        "b.txt's chunks were dropped"
    );
    assert_refused(&has_chunk(addr, "b.txt", 1).await, 404);
}
