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
