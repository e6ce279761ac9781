//! The HTTP bridge's publisher (pusher) paths against an in-process router: Crossbar's
//! contract for unsigned and signed requests (HMAC-SHA256 over key, timestamp, seq, nonce and
//! body), the refusals (401 bad signature, 413 body limit, 400 timestamp window / require_ip /
//! require_tls, 401 nonce replay, 403 foreign origin) with their JSON bodies, and the events a
//! subscribed WAMP session receives (or, for a refused request, does not).

use crate::common;

use common::bridge::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

const KEY: &str = "foobar";
const SECRET: &str = "secret123";
const LIMIT: usize = 100;
const TOPIC: &str = "com.example.push";

/// Two web transports: 0 plain with WAMP at /ws and the publisher paths, 1 with
/// `trusted_proxies: ["127.0.0.1"]`.
fn config() -> Value {
    let p = |options: Value| bridge_path("publisher", "anonymous", options);
    let roles = vec![
        full_access_role("anonymous"),
        json!({"name": "nopublish", "permissions": [{"uri": "", "match": "prefix",
            "allow": {"call": true, "register": true, "publish": false, "subscribe": true}}]}),
    ];
    let plain = web(
        json!({
            "ws": {"type": "websocket", "serializers": ["json"]},
            "push": p(json!({})),
            "push-small": p(json!({"post_body_limit": LIMIT})),
            "push-signed": p(json!({"key": KEY, "secret": SECRET, "timestamp_delta_limit": 10})),
            "push-nowindow": p(json!({"key": KEY, "secret": SECRET, "timestamp_delta_limit": 0})),
            "push-local": p(json!({"require_ip": ["127.0.0.1"]})),
            "push-deny": p(json!({"require_ip": ["10.0.0.0/8"]})),
            "push-tls": p(json!({"require_tls": true})),
            "push-cors": p(json!({"allowed_origins": ["https://*.example.com"]})),
            "push-200": p(json!({"success_status": 200})),
            "push-noauth": bridge_path("publisher", "nopublish", json!({})),
            "push-strict": bridge_path("publisher", "nopublish", json!({"strict_status": true})),
        }),
        Value::Null,
    );
    let proxied = web(
        json!({
            "push-tls": p(json!({"require_tls": true})),
            "push-10": p(json!({"require_ip": ["10.0.0.0/8"]})),
        }),
        json!({"trusted_proxies": ["127.0.0.1"]}),
    );
    common::config(
        vec![json!({"name": "realm1", "roles": roles})],
        vec![plain, proxied],
    )
}

/// A router and a session subscribed to `topic`.
async fn with_subscriber(topic: &str) -> (InProcess, Client) {
    let router = InProcess::start(&config());
    let (mut sub, _) = router.joined("realm1").await;
    sub.subscribe(topic, json!({})).await;
    (router, sub)
}

fn event(args: Value) -> Value {
    json!({"topic": TOPIC, "args": args})
}

/// Publishes a marker through the open path and asserts that it is the next event `sub`
/// receives: nothing a refused request could have published came before it.
async fn assert_nothing_published_before_marker(router: &InProcess, sub: &mut Client) {
    let res = post_json(router.addr(), "/push", &[], &event(json!(["marker"]))).await;
    let id = assert_published(&res, 202);
    let (_, publication, args, _) = next_event(sub).await;
    assert_eq!(
        (publication, args),
        (id, json!(["marker"])),
        "a refused request published"
    );
}

#[test]
fn signature_matches_crossbars_test_vector() {
    // The vector of Crossbar's HTTP bridge documentation (crossbarconnect).
    let body = br#"{"topic":"com.myapp.topic1","args":["Hello, world"]}"#;
    let sig = signature(
        "secret123",
        "foobar",
        "2011-10-14T16:59:51.123Z",
        "1",
        "12345",
        body,
    );
    assert_eq!(sig, "_jbcYQRw2XTEWw-fbom5uWM_SWv-tKqQ4U8_fTToO3I=");
}

#[tokio::test]
async fn unsigned_publish_is_202_with_the_id_and_reaches_the_subscriber() {
    let (router, mut sub) = with_subscriber(TOPIC).await;
    let body = json!({"topic": TOPIC, "args": ["hello", 42], "kwargs": {"ü": [1, {"x": null}]}});
    let res = post_json(router.addr(), "/push", &[], &body).await;
    let id = assert_published(&res, 202);
    let (_, publication, args, kwargs) = next_event(&mut sub).await;
    assert_eq!(
        publication, id,
        "the event carries the publication id the response named"
    );
    assert_eq!(args, json!(["hello", 42]));
    assert_eq!(kwargs, json!({"ü": [1, {"x": null}]}));

    // PUT publishes like POST; success_status 200 changes only the status.
    let res = request(
        router.addr(),
        "PUT",
        "/push",
        &[],
        event(json!(["put"])).to_string().as_bytes(),
    )
    .await;
    let id = assert_published(&res, 202);
    assert_eq!(next_event(&mut sub).await.1, id);
    let res = post_json(router.addr(), "/push-200", &[], &event(json!(["200"]))).await;
    let id = assert_published(&res, 200);
    let (_, publication, args, _) = next_event(&mut sub).await;
    assert_eq!((publication, args), (id, json!(["200"])));
}

#[tokio::test]
async fn malformed_requests_are_refused_with_a_json_error() {
    let (router, mut sub) = with_subscriber(TOPIC).await;
    let addr = router.addr();
    for method in ["GET", "DELETE"] {
        assert_http_error(&request(addr, method, "/push", &[], b"").await, 405);
    }
    for body in [&b"{not json"[..], b"[1, 2]", b"{\"args\": [1]}"] {
        assert_http_error(&request(addr, "POST", "/push", &[], body).await, 400);
    }
    let res = request(
        addr,
        "POST",
        "/push",
        &["Content-Type: text/plain"],
        event(json!([1])).to_string().as_bytes(),
    )
    .await;
    assert_http_error(&res, 400);
    let res = post_json(
        addr,
        "/push",
        &[],
        &json!({"topic": "com.example.has space"}),
    )
    .await;
    assert_wamp_error(&res, "wamp.error.invalid_uri", 200);
    assert_nothing_published_before_marker(&router, &mut sub).await;
}

#[tokio::test]
async fn signed_publish_is_accepted_and_reaches_the_subscriber() {
    let (router, mut sub) = with_subscriber(TOPIC).await;
    let body = event(json!(["signed"])).to_string();
    let signed = Signed::new(KEY, SECRET, body.as_bytes(), 1);
    let res = request(
        router.addr(),
        "POST",
        &format!("/push-signed?{}", signed.query()),
        &[],
        body.as_bytes(),
    )
    .await;
    let id = assert_published(&res, 202);
    let (_, publication, args, _) = next_event(&mut sub).await;
    assert_eq!((publication, args), (id, json!(["signed"])));
}

#[tokio::test]
async fn bad_signatures_are_401_and_publish_nothing() {
    let (router, mut sub) = with_subscriber(TOPIC).await;
    let body = event(json!(["pay", 10])).to_string();
    let tampered = event(json!(["pay", 1000])).to_string();
    let garbage = Signed {
        signature: "not a signature".into(),
        ..Signed::new(KEY, SECRET, body.as_bytes(), 1)
    };
    let mut tampered_seq = Signed::new(KEY, SECRET, body.as_bytes(), 7);
    tampered_seq.seq = "8".into();
    let cases = [
        (
            "wrong secret",
            Signed::new(KEY, "wrong-secret", body.as_bytes(), 1),
            &body,
        ),
        (
            "unknown key",
            Signed::new("otherkey", SECRET, body.as_bytes(), 1),
            &body,
        ),
        ("garbage signature", garbage, &body),
        (
            "tampered body",
            Signed::new(KEY, SECRET, body.as_bytes(), 1),
            &tampered,
        ),
        ("tampered query", tampered_seq, &body),
    ];
    for (what, signed, sent) in cases {
        let res = request(
            router.addr(),
            "POST",
            &format!("/push-signed?{}", signed.query()),
            &[],
            sent.as_bytes(),
        )
        .await;
        let message = assert_http_error(&res, 401);
        assert!(
            !message.contains(SECRET),
            "{what}: the error names the secret: {message}"
        );
    }
    // Unsigned on a signed path, or a signing argument missing: 400.
    let res = request(router.addr(), "POST", "/push-signed", &[], body.as_bytes()).await;
    assert_http_error(&res, 400);
    let signed = Signed::new(KEY, SECRET, body.as_bytes(), 1);
    let without_nonce = signed
        .query()
        .split('&')
        .filter(|kv| !kv.starts_with("nonce="))
        .collect::<Vec<_>>()
        .join("&");
    let res = request(
        router.addr(),
        "POST",
        &format!("/push-signed?{without_nonce}"),
        &[],
        body.as_bytes(),
    )
    .await;
    assert_http_error(&res, 400);
    assert_nothing_published_before_marker(&router, &mut sub).await;
}

#[tokio::test]
async fn body_over_post_body_limit_is_413() {
    let (router, mut sub) = with_subscriber("com.example.limit").await;
    let body_of = |n: usize| {
        let (head, tail) = (r#"{"topic":"com.example.limit","args":[""#, r#""]}"#);
        format!("{head}{}{tail}", "x".repeat(n - head.len() - tail.len()))
    };
    let at = body_of(LIMIT);
    let res = request(router.addr(), "POST", "/push-small", &[], at.as_bytes()).await;
    let id = assert_published(&res, 202);
    assert_eq!(
        next_event(&mut sub).await.1,
        id,
        "a body at the limit is published"
    );
    let over = body_of(LIMIT + 1);
    let res = request(router.addr(), "POST", "/push-small", &[], over.as_bytes()).await;
    let message = assert_http_error(&res, 413);
    assert!(
        message.contains(&LIMIT.to_string()),
        "the message names the limit: {message}"
    );
    // Nothing was published by the refused one: the next event is a new publish.
    let res = request(router.addr(), "POST", "/push-small", &[], at.as_bytes()).await;
    let id = assert_published(&res, 202);
    assert_eq!(next_event(&mut sub).await.1, id);
}

#[tokio::test]
async fn timestamps_outside_the_window_are_400() {
    let (router, mut sub) = with_subscriber(TOPIC).await;
    let body = event(json!(["ts"])).to_string();
    let send = |path: &'static str, ts: String, nonce: u64| {
        let signed = Signed::with(KEY, SECRET, body.as_bytes(), "1", &nonce.to_string(), &ts);
        let addr = router.addr();
        let body = body.clone();
        async move {
            request(
                addr,
                "POST",
                &format!("/{path}?{}", signed.query()),
                &[],
                body.as_bytes(),
            )
            .await
        }
    };
    for (i, offset) in [-60i64, 60, -3600, 86400].into_iter().enumerate() {
        let res = send("push-signed", timestamp(offset), 100 + i as u64).await;
        let message = assert_http_error(&res, 400);
        assert!(message.contains("window"), "{offset}: {message}");
    }
    for (i, ts) in ["2020-01-01T00:00:00Z", "yesterday"]
        .into_iter()
        .enumerate()
    {
        assert_http_error(&send("push-signed", ts.into(), 200 + i as u64).await, 400);
    }
    for (i, offset) in [-5i64, 5].into_iter().enumerate() {
        let id = assert_published(
            &send("push-signed", timestamp(offset), 300 + i as u64).await,
            202,
        );
        assert_eq!(next_event(&mut sub).await.1, id);
    }
    // timestamp_delta_limit 0: no window, a day-old request passes.
    let id = assert_published(&send("push-nowindow", timestamp(-86400), 400).await, 202);
    assert_eq!(next_event(&mut sub).await.1, id);
    // An unsigned request's timestamp is checked too (default window 300 s).
    let old = form_urlencoded::Serializer::new(String::new())
        .append_pair("timestamp", &timestamp(-3600))
        .append_pair("seq", "1")
        .finish();
    assert_http_error(
        &request(
            router.addr(),
            "POST",
            &format!("/push?{old}"),
            &[],
            body.as_bytes(),
        )
        .await,
        400,
    );
    assert_nothing_published_before_marker(&router, &mut sub).await;
}

#[tokio::test]
async fn a_replayed_nonce_is_401() {
    let (router, mut sub) = with_subscriber(TOPIC).await;
    let addr = router.addr();
    let body = event(json!(["once"])).to_string();
    let signed = Signed::new(KEY, SECRET, body.as_bytes(), 1);
    let target = format!("/push-signed?{}", signed.query());
    let id = assert_published(
        &request(addr, "POST", &target, &[], body.as_bytes()).await,
        202,
    );
    assert_eq!(next_event(&mut sub).await.1, id);
    let message = assert_http_error(
        &request(addr, "POST", &target, &[], body.as_bytes()).await,
        401,
    );
    assert!(
        message.contains("nonce") || message.contains("replay"),
        "{message}"
    );
    // The same (key, nonce) with a valid signature over another body.
    let body2 = event(json!(["twice"])).to_string();
    let again = Signed::with(
        KEY,
        SECRET,
        body2.as_bytes(),
        "2",
        &signed.nonce,
        &timestamp(0),
    );
    let res = request(
        addr,
        "POST",
        &format!("/push-signed?{}", again.query()),
        &[],
        body2.as_bytes(),
    )
    .await;
    assert_http_error(&res, 401);
    // On a path without a window the nonce is remembered as well.
    let day_old = Signed::with(KEY, SECRET, body.as_bytes(), "1", "777", &timestamp(-86400));
    let target = format!("/push-nowindow?{}", day_old.query());
    let id = assert_published(
        &request(addr, "POST", &target, &[], body.as_bytes()).await,
        202,
    );
    assert_eq!(next_event(&mut sub).await.1, id);
    assert_http_error(
        &request(addr, "POST", &target, &[], body.as_bytes()).await,
        401,
    );
    // Another nonce is fine.
    let fresh = Signed::new(KEY, SECRET, body2.as_bytes(), 3);
    let res = request(
        addr,
        "POST",
        &format!("/push-signed?{}", fresh.query()),
        &[],
        body2.as_bytes(),
    )
    .await;
    let id = assert_published(&res, 202);
    let (_, publication, args, _) = next_event(&mut sub).await;
    assert_eq!((publication, args), (id, json!(["twice"])));
}

#[tokio::test]
async fn require_ip_admits_only_the_listed_networks() {
    let (router, mut sub) = with_subscriber(TOPIC).await;
    let id = assert_published(
        &post_json(router.addr(), "/push-local", &[], &event(json!(["local"]))).await,
        202,
    );
    assert_eq!(next_event(&mut sub).await.1, id);
    assert_http_error(
        &post_json(router.addr(), "/push-deny", &[], &event(json!([1]))).await,
        400,
    );
    // X-Forwarded-For is not believed without trusted_proxies ...
    let xff = ["X-Forwarded-For: 10.1.2.3"];
    assert_http_error(
        &post_json(router.addr(), "/push-deny", &xff, &event(json!([2]))).await,
        400,
    );
    // ... and is from a trusted proxy.
    let proxied = router.addrs[1];
    let id = assert_published(
        &post_json(proxied, "/push-10", &xff, &event(json!(["proxied"]))).await,
        202,
    );
    let (_, publication, args, _) = next_event(&mut sub).await;
    assert_eq!((publication, args), (id, json!(["proxied"])));
    assert_http_error(
        &post_json(proxied, "/push-10", &[], &event(json!([3]))).await,
        400,
    );
    assert_nothing_published_before_marker(&router, &mut sub).await;
}

#[tokio::test]
async fn require_tls_is_met_by_a_trusted_proxys_forwarded_proto() {
    let (router, mut sub) = with_subscriber(TOPIC).await;
    let (plain, proxied) = (router.addrs[0], router.addrs[1]);
    let message = assert_http_error(
        &post_json(plain, "/push-tls", &[], &event(json!([1]))).await,
        400,
    );
    assert!(
        message.to_lowercase().contains("tls") || message.contains("https"),
        "{message}"
    );
    // Not believed from an untrusted peer.
    let https = ["X-Forwarded-Proto: https"];
    assert_http_error(
        &post_json(plain, "/push-tls", &https, &event(json!([2]))).await,
        400,
    );
    let id = assert_published(
        &post_json(proxied, "/push-tls", &https, &event(json!(["tls"]))).await,
        202,
    );
    let (_, publication, args, _) = next_event(&mut sub).await;
    assert_eq!((publication, args), (id, json!(["tls"])));
    for headers in [
        &["X-Forwarded-Proto: http"][..],
        &[],
        &["X-Forwarded-Proto: https, http"],
    ] {
        assert_http_error(
            &post_json(proxied, "/push-tls", headers, &event(json!([3]))).await,
            400,
        );
    }
    assert_nothing_published_before_marker(&router, &mut sub).await;
}

#[tokio::test]
async fn allowed_origins_decide_which_pages_may_publish() {
    let (router, mut sub) = with_subscriber(TOPIC).await;
    let addr = router.addr();
    // A foreign page: 403 without CORS headers, on a path without allowed_origins too.
    for path in ["/push", "/push-cors"] {
        let res = post_json(
            addr,
            path,
            &["Origin: https://evil.example.net"],
            &event(json!([1])),
        )
        .await;
        assert_eq!(res.status, 403, "{path}: {res:?}");
        assert_eq!(res.header("access-control-allow-origin"), None, "{res:?}");
        assert!(
            res.json()["error"]
                .as_str()
                .unwrap()
                .contains("allowed_origins"),
            "{res:?}"
        );
    }
    // A listed origin: published, its origin echoed with credentials.
    let origin = "https://app.example.com";
    let res = post_json(
        addr,
        "/push-cors",
        &[&format!("Origin: {origin}")],
        &event(json!(["cors"])),
    )
    .await;
    assert_eq!(res.status, 202, "{res:?}");
    assert_bridge_headers(&res, Some(origin), true);
    let id = res.json()["id"].as_u64().unwrap();
    let (_, publication, args, _) = next_event(&mut sub).await;
    assert_eq!((publication, args), (id, json!(["cors"])));
    // The page's own origin.
    let own = format!("Origin: http://{addr}");
    let res = post_json(addr, "/push", &[&own], &event(json!(["own"]))).await;
    assert_eq!(res.status, 202, "{res:?}");
    assert_bridge_headers(&res, Some(&format!("http://{addr}")), true);
    assert_eq!(next_event(&mut sub).await.2, json!(["own"]));
    // Preflight, and an error echoing the allowed origin.
    let res = request(
        addr,
        "OPTIONS",
        "/push-cors",
        &[&format!("Origin: {origin}")],
        b"",
    )
    .await;
    assert_eq!(res.status, 200, "{res:?}");
    assert!(res.body.is_empty(), "{res:?}");
    assert_eq!(res.header("allow"), Some("POST,PUT,OPTIONS"));
    assert_bridge_headers(&res, Some(origin), false);
    let res = request(
        addr,
        "POST",
        "/push-cors",
        &[&format!("Origin: {origin}")],
        b"[1]",
    )
    .await;
    assert_http_error_from(&res, 400, Some(origin));
    assert_nothing_published_before_marker(&router, &mut sub).await;
}

#[tokio::test]
async fn a_role_without_publish_gets_the_wamp_error() {
    let (router, mut sub) = with_subscriber(TOPIC).await;
    let res = post_json(router.addr(), "/push-noauth", &[], &event(json!([1]))).await;
    assert_wamp_error(&res, "wamp.error.not_authorized", 200);
    let res = post_json(router.addr(), "/push-strict", &[], &event(json!([2]))).await;
    assert_wamp_error(&res, "wamp.error.not_authorized", 403);
    assert_nothing_published_before_marker(&router, &mut sub).await;
}
