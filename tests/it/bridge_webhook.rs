//! The HTTP bridge's webhook paths against an in-process router: each accepted request is one
//! event on the path's topic (`{"headers", "body"}` as Crossbar, or with `decode: json` the
//! parsed body), GitHub signatures, body limit, methods and allowed origins; a refused
//! request publishes nothing.

use crate::common;

use common::bridge::*;
use common::in_process::InProcess;
use common::*;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

const GH_SECRET: &str = "s3cret";
const LIMIT: usize = 32;

fn config() -> Value {
    let hook = |topic: &str, role: &str, mut options: Value| {
        options["topic"] = json!(topic);
        bridge_path("webhook", role, options)
    };
    let roles = vec![
        full_access_role("anonymous"),
        json!({"name": "nopublish", "permissions": [{"uri": "", "match": "prefix",
            "allow": {"call": true, "register": true, "publish": false, "subscribe": true}}]}),
    ];
    let paths = json!({
        "ws": {"type": "websocket", "serializers": ["json"]},
        "hook": hook("com.example.hook", "anonymous", json!({"decode": "json", "methods": ["POST", "PUT"]})),
        "hook-raw": hook("com.example.hook", "anonymous", json!({"success_response": "received"})),
        "hook-cors": hook("com.example.hook", "anonymous", json!({"decode": "json", "allowed_origins": ["https://app.example.com"]})),
        "hook-small": hook("com.example.hook", "anonymous", json!({"post_body_limit": LIMIT})),
        "hook-gh": hook("com.example.hook", "anonymous", json!({"github_secret": GH_SECRET})),
        "hook-noauth": hook("com.example.hook", "nopublish", json!({})),
        "hook-noauth-custom": hook("com.example.hook", "nopublish", json!({"error_response": "nope"})),
        "hook-small-json": hook("com.example.hook", "anonymous", json!({"decode": "json", "post_body_limit": LIMIT})),
        "hook-put": hook("com.example.hook", "anonymous", json!({"decode": "json", "methods": ["PUT"]})),
    });
    common::config(
        vec![json!({"name": "realm1", "roles": roles})],
        vec![web(paths, Value::Null)],
    )
}

async fn with_subscriber() -> (InProcess, Client) {
    let router = InProcess::start(&config());
    let (mut sub, _) = router.joined("realm1").await;
    sub.subscribe("com.example.hook", json!({})).await;
    (router, sub)
}

#[track_caller]
fn assert_accepted(res: &HttpResponse, text: &[u8]) {
    assert_eq!(res.status, 202, "{res:?}");
    assert_eq!(res.body, text, "{res:?}");
    assert_bridge_headers(res, None, false);
}

/// Sends an accepted marker request; asserts it is the next event (nothing refused before it
/// was published).
async fn assert_next_is_marker(router: &InProcess, sub: &mut Client) {
    assert_accepted(
        &post_json(router.addr(), "/hook", &[], &json!({"marker": true})).await,
        b"OK",
    );
    let (_, _, args, kwargs) = next_event(sub).await;
    assert_eq!(
        (args, kwargs),
        (json!([]), json!({"marker": true})),
        "a refused request published"
    );
}

#[tokio::test]
async fn a_json_webhook_publishes_the_parsed_body() {
    let (router, mut sub) = with_subscriber().await;
    let payload =
        json!({"temperature": 21.5, "device": "sensor-1", "nested": {"x": null, "ü": "€"}});
    assert_accepted(
        &post_json(router.addr(), "/hook", &[], &payload).await,
        b"OK",
    );
    let (_, _, args, kwargs) = next_event(&mut sub).await;
    assert_eq!(
        (args, kwargs),
        (json!([]), payload),
        "an object arrives as kwargs"
    );
    for value in [json!([1, "two"]), json!(42), json!("text"), json!(null)] {
        assert_accepted(
            &request(
                router.addr(),
                "PUT",
                "/hook",
                &[],
                value.to_string().as_bytes(),
            )
            .await,
            b"OK",
        );
        let (_, _, args, kwargs) = next_event(&mut sub).await;
        assert_eq!(
            (args, kwargs),
            (json!([value]), json!({})),
            "anything else is the one arg"
        );
    }
    for raw in [&b"{nope"[..], b"", b"{\"a\": 1"] {
        assert_http_error(
            &request(router.addr(), "POST", "/hook", &[], raw).await,
            400,
        );
    }
    assert_http_error(&request(router.addr(), "GET", "/hook", &[], b"").await, 405);
    assert_http_error(
        &request(router.addr(), "PUT", "/hook-raw", &[], b"x").await,
        405,
    );
    assert_next_is_marker(&router, &mut sub).await;
}

#[tokio::test]
async fn a_raw_webhook_publishes_headers_and_body_as_crossbar() {
    let (router, mut sub) = with_subscriber().await;
    let text = "fresh webhooks! ü€";
    let headers = [
        "Content-Type: text/plain; charset=utf-8",
        "X-Github-Event: ping",
        "X-Custom: one",
    ];
    let res = request(
        router.addr(),
        "POST",
        "/hook-raw",
        &headers,
        text.as_bytes(),
    )
    .await;
    assert_accepted(&res, b"received");
    let (_, _, args, kwargs) = next_event(&mut sub).await;
    assert_eq!(kwargs, json!({}));
    let event = &args[0];
    assert_eq!(event["body"], text, "{event}");
    assert_eq!(
        event.as_object().unwrap().len(),
        2,
        "only headers and body: {event}"
    );
    let h = &event["headers"];
    assert_eq!(
        h["Content-Type"],
        json!(["text/plain; charset=utf-8"]),
        "{h}"
    );
    assert_eq!(h["X-Github-Event"], json!(["ping"]), "{h}");
    assert_eq!(h["X-Custom"], json!(["one"]), "{h}");
    assert_eq!(h["Content-Length"], json!([text.len().to_string()]), "{h}");
}

#[tokio::test]
async fn the_body_limit_and_the_role_refuse_requests() {
    let (router, mut sub) = with_subscriber().await;
    let at = "x".repeat(LIMIT);
    assert_accepted(
        &request(router.addr(), "POST", "/hook-small", &[], at.as_bytes()).await,
        b"OK",
    );
    assert_eq!(next_event(&mut sub).await.2[0]["body"], at);
    let over = "x".repeat(LIMIT + 1);
    assert_http_error(
        &request(router.addr(), "POST", "/hook-small", &[], over.as_bytes()).await,
        413,
    );
    let res = request(router.addr(), "POST", "/hook-noauth", &[], b"{}").await;
    assert_eq!(
        (res.status, res.body.as_slice()),
        (500, &b"NOT OK"[..]),
        "{res:?}"
    );
    assert_next_is_marker(&router, &mut sub).await;
}

#[tokio::test]
async fn github_signatures_are_checked() {
    let (router, mut sub) = with_subscriber().await;
    let raw = br#"{"zen":"Design for failure."}"#;
    let hex_mac = |secret: &[u8]| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(raw);
        hex::encode(mac.finalize().into_bytes())
    };
    let good = format!(
        "X-Hub-Signature-256: sha256={}",
        hex_mac(GH_SECRET.as_bytes())
    );
    assert_accepted(
        &request(router.addr(), "POST", "/hook-gh", &[&good], raw).await,
        b"OK",
    );
    assert_eq!(
        next_event(&mut sub).await.2[0]["body"],
        std::str::from_utf8(raw).unwrap()
    );
    let wrong = format!("X-Hub-Signature-256: sha256={}", hex_mac(b"other"));
    for headers in [
        vec![],
        vec![wrong.as_str()],
        vec!["X-Hub-Signature: sha1=00"],
    ] {
        let res = request(router.addr(), "POST", "/hook-gh", &headers, raw).await;
        assert!((400..500).contains(&res.status), "{headers:?}: {res:?}");
    }
    let mut longer = raw.to_vec();
    longer.push(b' ');
    let res = request(router.addr(), "POST", "/hook-gh", &[&good], &longer).await;
    assert!(
        (400..500).contains(&res.status),
        "a signature over another body: {res:?}"
    );
    assert_next_is_marker(&router, &mut sub).await;
}

#[tokio::test]
async fn only_allowed_origins_may_use_a_webhook_from_a_browser() {
    let (router, mut sub) = with_subscriber().await;
    for path in ["/hook", "/hook-cors"] {
        let res = post_json(
            router.addr(),
            path,
            &["Origin: https://evil.example.net"],
            &json!({"from": "evil"}),
        )
        .await;
        assert_eq!(res.status, 403, "{path}: {res:?}");
        assert_eq!(res.header("access-control-allow-origin"), None, "{res:?}");
    }
    let origin = "https://app.example.com";
    let res = post_json(
        router.addr(),
        "/hook-cors",
        &[&format!("Origin: {origin}")],
        &json!({"from": "app"}),
    )
    .await;
    assert_eq!(
        (res.status, res.body.as_slice()),
        (202, &b"OK"[..]),
        "{res:?}"
    );
    assert_bridge_headers(&res, Some(origin), false);
    let (_, _, _, kwargs) = next_event(&mut sub).await;
    assert_eq!(
        kwargs,
        json!({"from": "app"}),
        "only the allowed page's event arrives"
    );
}

#[track_caller]
fn assert_allow(res: &HttpResponse) {
    let allow = res.header("allow").unwrap_or_default().replace(' ', "");
    let mut allow: Vec<&str> = allow.split(',').collect();
    allow.sort_unstable();
    assert_eq!(allow, ["OPTIONS", "POST", "PUT"], "{res:?}");
}

#[tokio::test]
async fn methods_follow_the_paths_configuration() {
    let (router, mut sub) = with_subscriber().await;
    let addr = router.addr();
    for method in ["GET", "DELETE", "PATCH"] {
        let res = request(addr, method, "/hook", &[], b"").await;
        assert_http_error(&res, 405);
        assert_allow(&res);
    }
    // PUT only.
    assert_http_error(&request(addr, "POST", "/hook-put", &[], b"{}").await, 405);
    assert_accepted(
        &request(addr, "PUT", "/hook-put", &[], br#"{"via":"put"}"#).await,
        b"OK",
    );
    let (_, _, args, kwargs) = next_event(&mut sub).await;
    assert_eq!((args, kwargs), (json!([]), json!({"via": "put"})));
    let head = format!("OPTIONS /hook HTTP/1.1\r\nHost: {addr}\r\nConnection: close");
    let res = raw_http(addr, &head).await;
    assert_eq!(
        (res.status, res.body.as_slice()),
        (200, &b""[..]),
        "{res:?}"
    );
    assert_allow(&res);
    assert_next_is_marker(&router, &mut sub).await;
}

#[tokio::test]
async fn more_json_bodies_and_refusals() {
    let (router, mut sub) = with_subscriber().await;
    for value in [json!([]), json!([1, "two", {"three": 3}])] {
        let res = request(
            router.addr(),
            "POST",
            "/hook",
            &[],
            value.to_string().as_bytes(),
        )
        .await;
        assert_accepted(&res, b"OK");
        let (_, _, args, kwargs) = next_event(&mut sub).await;
        assert_eq!((args, kwargs), (json!([value]), json!({})));
    }
    assert_http_error(
        &request(router.addr(), "POST", "/hook", &[], b"\xff\xfe").await,
        400,
    );
    let padded = json!({"pad": "y".repeat(LIMIT)});
    assert_http_error(
        &post_json(router.addr(), "/hook-small-json", &[], &padded).await,
        413,
    );
    let res = request(router.addr(), "POST", "/hook-noauth-custom", &[], b"{}").await;
    assert_eq!(
        (res.status, res.body.as_slice()),
        (500, &b"nope"[..]),
        "{res:?}"
    );
    assert_next_is_marker(&router, &mut sub).await;
}

/// Crossbar (Twisted's getAllRawHeaders) names headers in canonical capitalisation, as its
/// webhook docs show; subscribers written for Crossbar read them by those names. A JSON body
/// stays the text it was.
#[tokio::test]
async fn a_raw_event_has_crossbars_header_names_and_the_undecoded_body() {
    let (router, mut sub) = with_subscriber().await;
    let raw = r#"{"zen": "Design for failure.", "n": 1}"#;
    let headers = ["x-github-event: ping", "User-Agent: GitHub-Hookshot/1"];
    let res = request(router.addr(), "POST", "/hook-raw", &headers, raw.as_bytes()).await;
    assert_accepted(&res, b"received");
    let (_, _, args, kwargs) = next_event(&mut sub).await;
    assert_eq!(kwargs, json!({}));
    assert_eq!(args[0]["body"], raw, "{args}");
    let names = args[0]["headers"].as_object().unwrap();
    for name in [
        "Content-Type",
        "Content-Length",
        "X-Github-Event",
        "User-Agent",
        "Host",
    ] {
        assert!(names.contains_key(name), "{name} missing: {names:?}");
    }
    for (name, values) in names {
        let values = values
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {values}"));
        assert!(values.iter().all(Value::is_string), "{name}: {values:?}");
    }
    assert_eq!(names["X-Github-Event"], json!(["ping"]));
}

#[tokio::test]
async fn github_sha1_signatures_and_unprefixed_ones() {
    let (router, mut sub) = with_subscriber().await;
    let raw = br#"{"zen":"Design for failure."}"#;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(GH_SECRET.as_bytes()).unwrap();
    mac.update(raw);
    let sha1 = format!(
        "X-Hub-Signature: sha1={}",
        hex::encode(mac.finalize().into_bytes())
    );
    assert_accepted(
        &request(router.addr(), "POST", "/hook-gh", &[&sha1], raw).await,
        b"OK",
    );
    assert_eq!(
        next_event(&mut sub).await.2[0]["body"],
        std::str::from_utf8(raw).unwrap()
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(GH_SECRET.as_bytes()).unwrap();
    mac.update(raw);
    let bare = format!(
        "X-Hub-Signature-256: {}",
        hex::encode(mac.finalize().into_bytes())
    );
    let res = request(router.addr(), "POST", "/hook-gh", &[&bare], raw).await;
    assert!((400..500).contains(&res.status), "without sha256=: {res:?}");
    assert_next_is_marker(&router, &mut sub).await;
}

#[tokio::test]
async fn a_kept_alive_connection_survives_a_refused_large_body() {
    let (router, mut sub) = with_subscriber().await;
    let mut conn = Conn::open(router.addr()).await;
    for i in 0..4 {
        let body = json!({"i": i}).to_string();
        let res = conn.request("POST", "/hook", &[], body.as_bytes()).await;
        assert_eq!(res.status, 202, "{res:?}");
    }
    let res = conn
        .request("POST", "/hook-small", &[], &vec![b'z'; 100_000])
        .await;
    assert_eq!(res.status, 413, "{res:?}");
    if says_close(&res) {
        conn = Conn::open(router.addr()).await;
    }
    let res = conn
        .try_request("POST", "/hook", &[], br#"{"i":4}"#)
        .await
        .unwrap_or_else(|e| {
            panic!("after a 413 without Connection: close the connection was closed: {e}")
        });
    assert_eq!(res.status, 202, "{res:?}");
    for i in 0..5 {
        let (_, _, args, kwargs) = next_event(&mut sub).await;
        assert_eq!((args, kwargs), (json!([]), json!({"i": i})));
    }
}
