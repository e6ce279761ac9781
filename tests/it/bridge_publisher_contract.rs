//! The publisher paths' request contract in detail, against an in-process router (ported
//! from the Python suite, issue 13): methods, content types and charsets, Content-Length
//! quirks and chunked bodies, the signing arguments' forms, the malformed bodies, publish
//! options, and keep-alive. Every accepted request is checked against the event a WAMP
//! subscriber receives; every test ends by checking that the refused requests published
//! nothing. `bridge_transport` has require_ip, forwarded headers, IPv6 and TLS.

use crate::common;

use common::bridge::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

pub const KEY: &str = "foobar";
pub const SECRET: &str = "secret123";
pub const LIMIT: usize = 100;
pub const TOPIC: &str = "com.example.push";

fn config() -> Value {
    let p = |options: Value| bridge_path("publisher", "anonymous", options);
    let roles = vec![full_access_role("anonymous")];
    let paths = json!({
        "ws": {"type": "websocket", "serializers": ["json"]},
        "push": p(json!({"post_body_limit": LIMIT, "require_ip": ["127.0.0.1"]})),
        "push-open": p(json!({})),
        "push-cors": p(json!({"allowed_origins": ["https://*.example.com"]})),
        "push-any-origin": p(json!({"allowed_origins": ["*"]})),
        "push-put": bridge_path("pusher", "anonymous", json!({})),
        "push-signed": p(json!({"key": KEY, "secret": SECRET, "timestamp_delta_limit": 10})),
        "push-nowindow": p(json!({"key": KEY, "secret": SECRET, "timestamp_delta_limit": 0})),
        "push-strict-open": p(json!({"strict_status": true})),
        "push-deny": p(json!({"require_ip": ["10.0.0.0/8"]})),
    });
    common::config(
        vec![json!({"name": "realm1", "roles": roles})],
        vec![web(paths, Value::Null)],
    )
}

async fn with_subscriber() -> (InProcess, Client) {
    let router = InProcess::start(&config());
    let (mut sub, _) = router.joined("realm1").await;
    sub.subscribe(TOPIC, json!({})).await;
    (router, sub)
}

/// `{"topic": TOPIC, "args": args}`, compact.
pub fn event(args: Value) -> Vec<u8> {
    json!({"topic": TOPIC, "args": args})
        .to_string()
        .into_bytes()
}

/// A valid publish body of exactly `n` bytes.
pub fn body_of_size(n: usize) -> Vec<u8> {
    let (head, tail) = (format!(r#"{{"topic":"{TOPIC}","args":[""#), r#""]}"#);
    let body = format!("{head}{}{tail}", "x".repeat(n - head.len() - tail.len()));
    assert_eq!(body.len(), n);
    body.into_bytes()
}

/// Asserts a successful publish (`status`, `{"id"}`) and that it is the next event `sub`
/// receives, with the body's args; returns the args.
pub async fn assert_event(sub: &mut Client, res: &HttpResponse, status: u16) -> Value {
    let id = assert_published(res, status);
    let (_, publication, args, _) = next_event(sub).await;
    assert_eq!(publication, id, "the event of {res:?}");
    args
}

/// Publishes a marker through `path` and asserts it is the next event: nothing a refused
/// request could have published came before it.
pub async fn assert_nothing_before_marker(addr: std::net::SocketAddr, sub: &mut Client) {
    let res = request(addr, "POST", "/push-open", &[], &event(json!(["marker"]))).await;
    let args = assert_event(sub, &res, 202).await;
    assert_eq!(args, json!(["marker"]), "a refused request published");
}

async fn post(router: &InProcess, path: &str, headers: &[&str], body: &[u8]) -> HttpResponse {
    request(router.addr(), "POST", path, headers, body).await
}

#[test]
fn signed_query_and_timestamp_have_crossbarconnects_form() {
    let body = br#"{"topic":"com.myapp.topic1","args":["Hello, world"]}"#;
    let signed = Signed::with(
        "foobar",
        "secret123",
        body,
        "1",
        "12345",
        "2011-10-14T16:59:51.123Z",
    );
    assert_eq!(
        signed.query(),
        "timestamp=2011-10-14T16%3A59%3A51.123Z&seq=1&key=foobar&nonce=12345\
         &signature=_jbcYQRw2XTEWw-fbom5uWM_SWv-tKqQ4U8_fTToO3I%3D"
    );
    let ts = timestamp(0);
    let shape: Vec<bool> = ts.chars().map(|c| c.is_ascii_digit()).collect();
    let digits = "dddd-dd-ddTdd:dd:dd.dddZ";
    assert_eq!(ts.len(), digits.len(), "{ts}");
    for ((c, digit), want) in ts.chars().zip(shape).zip(digits.chars()) {
        assert_eq!(digit, want == 'd', "{ts}: {c} vs {want}");
        if want != 'd' {
            assert_eq!(c, want, "{ts}");
        }
    }
}

#[tokio::test]
async fn methods_paths_and_origins() {
    let (router, mut sub) = with_subscriber().await;
    let addr = router.addr();
    for method in ["GET", "DELETE", "PATCH"] {
        let res = request(addr, method, "/push-open", &[], b"").await;
        assert_http_error(&res, 405);
        let allow = res.header("allow").unwrap_or_default().replace(' ', "");
        let mut allow: Vec<&str> = allow.split(',').collect();
        allow.sort_unstable();
        assert_eq!(allow, ["OPTIONS", "POST", "PUT"], "{method}: {res:?}");
    }
    // The method is checked first: no signature, wrong content type, still 405.
    let res = request(
        addr,
        "GET",
        "/push-signed",
        &["Content-Type: text/plain"],
        b"",
    )
    .await;
    assert_http_error(&res, 405);
    assert_http_error(
        &post(&router, "/no-such-path", &[], &event(json!([1]))).await,
        404,
    );
    // A foreign origin's preflight is refused like its POST.
    let evil = ["Origin: https://evil.example.net"];
    let res = request(addr, "OPTIONS", "/push-open", &evil, &event(json!([1]))).await;
    assert_eq!(res.status, 403, "{res:?}");
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:?}");
    assert!(
        res.json()["error"]
            .as_str()
            .unwrap()
            .contains("allowed_origins"),
        "{res:?}"
    );
    // allowed_origins ["*"]: any page, its origin echoed (Crossbar's behaviour).
    let res = post(&router, "/push-any-origin", &evil, &event(json!(["any"]))).await;
    assert_eq!(res.status, 202, "{res:?}");
    assert_bridge_headers(&res, Some("https://evil.example.net"), true);
    let (_, publication, args, _) = next_event(&mut sub).await;
    assert_eq!(
        (publication, args),
        (res.json()["id"].as_u64().unwrap(), json!(["any"]))
    );
    // Crossbar's older type name "pusher".
    let res = post(&router, "/push-put", &[], &event(json!(["pusher"]))).await;
    assert_eq!(assert_event(&mut sub, &res, 202).await, json!(["pusher"]));
    assert_nothing_before_marker(addr, &mut sub).await;
}

#[tokio::test]
async fn content_types_and_charsets() {
    let (router, mut sub) = with_subscriber().await;
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
    ] {
        let res = post(
            &router,
            "/push-open",
            &[&format!("Content-Type: {ct}")],
            &event(json!([ct])),
        )
        .await;
        assert_eq!(assert_event(&mut sub, &res, 202).await, json!([ct]));
    }
    // No Content-Type at all.
    let body = event(json!(["none"]));
    let head = format!(
        "POST /push-open HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}",
        body.len()
    );
    let res = raw_http_body(router.addr(), &head, &body).await;
    assert_eq!(assert_event(&mut sub, &res, 202).await, json!(["none"]));
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonp",
        "application/json; charset=iso-8859-1",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
    ] {
        let res = post(
            &router,
            "/push-open",
            &[&format!("Content-Type: {ct}")],
            &event(json!([1])),
        )
        .await;
        assert_http_error(&res, 400);
    }
    // The content type is checked before the size.
    let res = post(
        &router,
        "/push",
        &["Content-Type: text/plain"],
        &body_of_size(LIMIT + 50),
    )
    .await;
    assert_http_error(&res, 400);
    assert_nothing_before_marker(router.addr(), &mut sub).await;
}

#[tokio::test]
async fn content_length_quirks() {
    let (router, mut sub) = with_subscriber().await;
    let body = event(json!(["cl"]));
    let two = |extra: usize| {
        format!(
            "POST /push-open HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nContent-Length: {}\r\nConnection: close",
            body.len(),
            body.len() + extra
        )
    };
    // Request smuggling: two different lengths are refused before anything is published.
    let res = raw_http_body(router.addr(), &two(5), &body).await;
    assert_eq!(res.status, 400, "{res:?}");
    // Identical repeated values count as one (RFC 9112 6.3; hyper does so): no ambiguity.
    let res = raw_http_body(router.addr(), &two(0), &body).await;
    assert_eq!(assert_event(&mut sub, &res, 202).await, json!(["cl"]));
    // A body shorter than its Content-Length, the client done writing: 400.
    let mut stream = tokio::net::TcpStream::connect(router.addr()).await.unwrap();
    let mut bytes = format!(
        "POST /push-open HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len() + 20
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(&bytes).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut reply = Vec::new();
        tokio::time::timeout(RECV_TIMEOUT, stream.read_to_end(&mut reply))
            .await
            .expect("a response to the short body")
            .unwrap();
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 400 "), "{reply}");
    }
    assert_nothing_before_marker(router.addr(), &mut sub).await;
}

#[tokio::test]
async fn body_limits_with_content_length_and_chunked() {
    let (router, mut sub) = with_subscriber().await;
    assert_http_error(
        &post(&router, "/push", &[], &body_of_size(10 * LIMIT)).await,
        413,
    );
    let mut conn = Conn::open(router.addr()).await;
    let res = conn
        .try_request_chunked("POST", "/push", &[], &body_of_size(LIMIT), 30)
        .await
        .unwrap();
    assert_event(&mut sub, &res, 202).await;
    let mut conn = Conn::open(router.addr()).await;
    let res = conn
        .try_request_chunked("POST", "/push", &[], &body_of_size(LIMIT + 1), 30)
        .await
        .unwrap();
    assert_http_error(&res, 413);
    // No post_body_limit: Crossbar's 1 MiB ceiling; 200 kB pass.
    let big = "y".repeat(200_000);
    let res = post(&router, "/push-open", &[], &event(json!([big]))).await;
    assert_eq!(assert_event(&mut sub, &res, 202).await, json!([big]));
    assert_nothing_before_marker(router.addr(), &mut sub).await;
}

/// The signed request of `body` on `path` with the query `signed`.
async fn send_signed(router: &InProcess, path: &str, query: &str, body: &[u8]) -> HttpResponse {
    post(router, &format!("{path}?{query}"), &[], body).await
}

fn query_without(signed: &Signed, field: &str) -> String {
    signed
        .query()
        .split('&')
        .filter(|kv| !kv.starts_with(&format!("{field}=")))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn malformed_signing_arguments_are_400() {
    let (router, mut sub) = with_subscriber().await;
    let body = event(json!(["signed"]));
    let nonce = || rand::random_range(0..=MAX_NONCE).to_string();
    for field in ["key", "timestamp", "seq", "nonce", "signature"] {
        let signed = Signed::new(KEY, SECRET, &body, 1);
        let res = send_signed(
            &router,
            "/push-signed",
            &query_without(&signed, field),
            &body,
        )
        .await;
        assert_http_error(&res, 400);
    }
    // Each timestamp names (roughly) now, only its form is wrong; signed as sent.
    let now = jiff::Timestamp::now();
    // The local time at +01:00, written with that offset.
    let plus1 = now + jiff::SignedDuration::from_hours(1);
    let malformed = [
        now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        timestamp(0).trim_end_matches('Z').to_owned(),
        plus1.strftime("%Y-%m-%dT%H:%M:%S%.3f+01:00").to_string(),
        now.strftime("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string(),
        now.strftime("%Y-%m-%d").to_string(),
        now.as_second().to_string(),
        "yesterday".to_owned(),
    ];
    for ts in &malformed {
        let signed = Signed::with(KEY, SECRET, &body, "1", &nonce(), ts);
        let res = send_signed(&router, "/push-signed", &signed.query(), &body).await;
        let message = assert_http_error(&res, 400);
        assert!(!message.is_empty(), "{ts}");
    }
    for seq in ["abc", "1.5", "", "0x10", "1e3"] {
        let signed = Signed::with(KEY, SECRET, &body, seq, &nonce(), &timestamp(0));
        let res = send_signed(&router, "/push-signed", &signed.query(), &body).await;
        assert_http_error(&res, 400);
    }
    let too_big = (MAX_NONCE + 1).to_string();
    for bad in ["abc", "1.5", "-1", "", too_big.as_str()] {
        let signed = Signed::with(KEY, SECRET, &body, "1", bad, &timestamp(0));
        let res = send_signed(&router, "/push-signed", &signed.query(), &body).await;
        assert_http_error(&res, 400);
    }
    // The range's bounds are accepted.
    for bound in [0, MAX_NONCE] {
        let body = event(json!([bound]));
        let signed = Signed::with(KEY, SECRET, &body, "1", &bound.to_string(), &timestamp(0));
        let res = send_signed(&router, "/push-signed", &signed.query(), &body).await;
        assert_eq!(assert_event(&mut sub, &res, 202).await, json!([bound]));
    }
    assert_nothing_before_marker(router.addr(), &mut sub).await;
}

#[tokio::test]
async fn the_signature_is_checked_before_the_body_and_windows_apply() {
    let (router, mut sub) = with_subscriber().await;
    let bad = b"{not json";
    // A wrong signature over a broken body: the signature decides (401) ...
    let wrong = Signed::new(KEY, "wrong", bad, 1);
    assert_http_error(
        &send_signed(&router, "/push-signed", &wrong.query(), bad).await,
        401,
    );
    // ... a right one: then the body is checked (400).
    let right = Signed::new(KEY, SECRET, bad, 1);
    assert_http_error(
        &send_signed(&router, "/push-signed", &right.query(), bad).await,
        400,
    );
    // An unsigned path with a fresh timestamp publishes.
    let fresh = form_urlencoded::Serializer::new(String::new())
        .append_pair("timestamp", &timestamp(0))
        .append_pair("seq", "1")
        .finish();
    let res = send_signed(&router, "/push-open", &fresh, &event(json!(["fresh"]))).await;
    assert_eq!(assert_event(&mut sub, &res, 202).await, json!(["fresh"]));
    // timestamp_delta_limit 0: no window, but a malformed timestamp is still refused; the
    // 10-second window refuses a day-old request.
    let body = event(json!(["nowindow"]));
    let malformed = Signed::with(KEY, SECRET, &body, "1", "4242", "2020-01-01T00:00:00Z");
    assert_http_error(
        &send_signed(&router, "/push-nowindow", &malformed.query(), &body).await,
        400,
    );
    let day_old = Signed::with(KEY, SECRET, &body, "1", "4343", &timestamp(-86400));
    assert_http_error(
        &send_signed(&router, "/push-signed", &day_old.query(), &body).await,
        400,
    );
    assert_nothing_before_marker(router.addr(), &mut sub).await;
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let (router, mut sub) = with_subscriber().await;
    let bodies: [&[u8]; 11] = [
        b"{not json",
        b"",
        br#"{"topic": "a""#,
        b"\xff\xfe{}",
        b"[1, 2]",
        br#""com.example.topic""#,
        b"42",
        b"null",
        b"true",
        b"{}",
        br#"{"Topic": "com.example.x"}"#,
    ];
    for body in bodies {
        let res = post(&router, "/push-open", &[], body).await;
        let message = assert_http_error(&res, 400);
        assert!(!message.is_empty(), "{}", String::from_utf8_lossy(body));
    }
    // An invalid topic URI is the WAMP error, 400 with strict_status.
    let res = post(
        &router,
        "/push-strict-open",
        &[],
        br#"{"topic":"com.example.has space"}"#,
    )
    .await;
    assert_wamp_error(&res, "wamp.error.invalid_uri", 400);
    assert_nothing_before_marker(router.addr(), &mut sub).await;
}

#[tokio::test]
async fn publish_options_select_the_receivers() {
    let router = InProcess::start(&config());
    let (mut a, session_a) = router.joined("realm1").await;
    let (mut b, _) = router.joined("realm1").await;
    a.subscribe(TOPIC, json!({})).await;
    b.subscribe(TOPIC, json!({})).await;
    let push = |tag: &str, options: Value| {
        json!({"topic": TOPIC, "options": options, "args": [tag]})
            .to_string()
            .into_bytes()
    };
    for (tag, options) in [
        ("exclude-a", json!({"exclude": [session_a]})),
        ("eligible-a", json!({"eligible": [session_a]})),
        ("exclude-role", json!({"exclude_authrole": ["anonymous"]})),
        ("all", json!({})),
    ] {
        assert_published(
            &post(&router, "/push-open", &[], &push(tag, options)).await,
            202,
        );
    }
    // Events arrive in publication order: the first two each client gets are its whole share.
    let mut got_a = Vec::new();
    let mut got_b = Vec::new();
    for _ in 0..2 {
        got_a.push(next_event(&mut a).await.2[0].clone());
        got_b.push(next_event(&mut b).await.2[0].clone());
    }
    assert_eq!(got_a, [json!("eligible-a"), json!("all")]);
    assert_eq!(got_b, [json!("exclude-a"), json!("all")]);
}

#[tokio::test]
async fn several_publishes_share_one_kept_alive_connection() {
    let (router, mut sub) = with_subscriber().await;
    let mut conn = Conn::open(router.addr()).await;
    for i in 0..5 {
        let method = if i % 2 == 0 { "POST" } else { "PUT" };
        let res = conn
            .request(method, "/push-open", &[], &event(json!([i])))
            .await;
        assert!(!says_close(&res), "{res:?}");
        assert_eq!(assert_event(&mut sub, &res, 202).await, json!([i]));
    }
    for seq in 1..4u64 {
        let body = event(json!(["signed", seq]));
        let signed = Signed::new(KEY, SECRET, &body, seq);
        let target = format!("/push-signed?{}", signed.query());
        let res = conn.request("POST", &target, &[], &body).await;
        assert!(!says_close(&res), "{res:?}");
        assert_eq!(
            assert_event(&mut sub, &res, 202).await,
            json!(["signed", seq])
        );
    }
}

/// (method, path, body, content type header, chunked, expected status)
type Step = (&'static str, &'static str, Vec<u8>, &'static str, bool, u16);

/// After a refused request the connection stays usable, or the server says
/// `Connection: close` (closing silently breaks crossbarconnect: its next publish fails).
/// Refusals before the body is read are the hard case: a large body refused for its size (by
/// Content-Length and chunked), its Content-Type or its method.
#[tokio::test]
async fn a_kept_alive_connection_survives_refused_requests() {
    let (router, mut sub) = with_subscriber().await;
    for size in [LIMIT + 1, 100_000] {
        let over = body_of_size(size);
        let ok = |i: usize| event(json!([size, i]));
        let json_ct = "Content-Type: application/json";
        let text_ct = "Content-Type: text/plain";
        let steps: Vec<Step> = vec![
            ("POST", "/push-open", ok(1), json_ct, false, 202),
            (
                "POST",
                "/push-open",
                b"{broken".to_vec(),
                json_ct,
                false,
                400,
            ),
            ("POST", "/push-open", ok(2), json_ct, false, 202),
            ("POST", "/push", over.clone(), json_ct, false, 413),
            ("POST", "/push-open", ok(3), json_ct, false, 202),
            ("POST", "/push", over.clone(), json_ct, true, 413),
            ("POST", "/push-open", ok(4), json_ct, false, 202),
            ("POST", "/push-open", over.clone(), text_ct, false, 400),
            ("POST", "/push-open", ok(5), json_ct, false, 202),
            ("DELETE", "/push-open", over.clone(), json_ct, false, 405),
            ("POST", "/push-open", ok(6), json_ct, false, 202),
            ("POST", "/push-deny", ok(7), json_ct, false, 400),
            ("POST", "/push-open", ok(8), json_ct, false, 202),
        ];
        let mut conn = Conn::open(router.addr()).await;
        let mut previous = String::from("(none)");
        for (method, path, body, ct, chunked, status) in steps {
            let step = format!(
                "{method} {path} ({} bytes{}, {ct})",
                body.len(),
                if chunked { ", chunked" } else { "" }
            );
            let res = if chunked {
                conn.try_request_chunked(method, path, &[ct], &body, 8192)
                    .await
            } else {
                conn.try_request(method, path, &[ct], &body).await
            };
            let res = res.unwrap_or_else(|e| {
                panic!(
                    "{step} failed on the kept-alive connection: {e}; the server closed it \
                     after the previous response ({previous}) without Connection: close"
                )
            });
            assert_eq!(res.status, status, "{step}: {res:?}");
            if status == 202 {
                let args = assert_event(&mut sub, &res, 202).await;
                assert_eq!(
                    args,
                    serde_json::from_slice::<Value>(&body).unwrap()["args"]
                );
            }
            previous = format!("{step} -> {}", res.status);
            if says_close(&res) {
                conn = Conn::open(router.addr()).await;
            }
        }
    }
    assert_nothing_before_marker(router.addr(), &mut sub).await;
}
