//! Who may use a publisher path, by the connection it came over (ported from the Python
//! suite, issue 13): require_ip in its forms (address, CIDR, netmask, list, IPv6), forwarded
//! headers from trusted proxies read from the proxy's end, require_tls over real TLS (the test
//! certificates in `fixtures/tls`), and `debug` logging without secrets (the one test here
//! that runs the binary: the log is what it checks).

use crate::bridge_publisher_contract::{TOPIC, assert_event, assert_nothing_before_marker, event};
use crate::common;

use common::bridge::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

const PLAIN: usize = 0;
const PROXIED: usize = 1;
const TLS: usize = 2;

fn config() -> Value {
    let p = |options: Value| bridge_path("publisher", "anonymous", options);
    let plain = web(
        json!({
            "ws": {"type": "websocket", "serializers": ["json"]},
            "push-open": p(json!({})),
            "push": p(json!({"require_ip": ["127.0.0.1"]})),
            "push-deny": p(json!({"require_ip": ["10.0.0.0/8"]})),
            "push-mask-ok": p(json!({"require_ip": ["127.0.0.0/255.0.0.0"]})),
            "push-mask-no": p(json!({"require_ip": ["10.0.0.0/255.0.0.0"]})),
            "push-list": p(json!({"require_ip": ["192.168.1.1/255.255.255.0", "127.0.0.1"]})),
            "push-v6only": p(json!({"require_ip": ["::1"]})),
            "push-tls": p(json!({"require_tls": true})),
        }),
        Value::Null,
    );
    let proxied = web(
        json!({
            "push-10": p(json!({"require_ip": ["10.0.0.0/8"]})),
            "push-local": p(json!({"require_ip": ["127.0.0.1"]})),
            "push-tls": p(json!({"require_tls": true})),
        }),
        json!({"trusted_proxies": ["127.0.0.1"]}),
    );
    let (_, cert, key) = tls_files();
    let mut tls = web(
        json!({"push-tls": p(json!({"require_tls": true})), "push-open": p(json!({}))}),
        Value::Null,
    );
    tls["endpoint"]["tls"] = json!({"certificate": cert, "key": key});
    common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        vec![plain, proxied, tls],
    )
}

async fn with_subscriber() -> (InProcess, Client) {
    let router = InProcess::start(&config());
    let (mut sub, _) = router.joined("realm1").await;
    sub.subscribe(TOPIC, json!({})).await;
    (router, sub)
}

async fn post(
    router: &InProcess,
    t: usize,
    path: &str,
    headers: &[&str],
    tag: &str,
) -> HttpResponse {
    request(router.addrs[t], "POST", path, headers, &event(json!([tag]))).await
}

/// Asserts `res` published `tag` (the next event).
async fn published(sub: &mut Client, res: &HttpResponse, tag: &str) {
    assert_eq!(assert_event(sub, res, 202).await, json!([tag]), "{res:?}");
}

#[tokio::test]
async fn require_ip_forms() {
    let (router, mut sub) = with_subscriber().await;
    for path in ["/push", "/push-list", "/push-mask-ok"] {
        published(&mut sub, &post(&router, PLAIN, path, &[], path).await, path).await;
    }
    for path in ["/push-deny", "/push-mask-no", "/push-v6only"] {
        assert_http_error(&post(&router, PLAIN, path, &[], path).await, 400);
    }
    assert_nothing_before_marker(router.addr(), &mut sub).await;
}

#[tokio::test]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    let (router, mut sub) = with_subscriber().await;
    let xff = ["X-Forwarded-For: 10.1.2.3"];
    // Without trusted_proxies it neither admits nor refuses: the socket address counts.
    published(
        &mut sub,
        &post(&router, PLAIN, "/push", &xff, "untrusted").await,
        "untrusted",
    )
    .await;
    // From the trusted proxy the client is 10.1.2.3, not the proxy's 127.0.0.1.
    assert_http_error(&post(&router, PROXIED, "/push-local", &xff, "x").await, 400);
    // A chain: the client, then the (trusted) proxy itself.
    let chain = ["X-Forwarded-For: 10.9.8.7, 127.0.0.1"];
    published(
        &mut sub,
        &post(&router, PROXIED, "/push-10", &chain, "chain").await,
        "chain",
    )
    .await;
    // The trusted address without the header: the socket address counts.
    published(
        &mut sub,
        &post(&router, PROXIED, "/push-local", &[], "proxy").await,
        "proxy",
    )
    .await;
    // What a client wrote on the left before the proxy appended is not believed; an entry
    // that does not parse fails closed.
    for forwarded in [
        "10.1.2.3, 192.0.2.9:5555",
        "10.1.2.3, unknown",
        "10.1.2.3, 192.0.2.9",
    ] {
        let header = format!("X-Forwarded-For: {forwarded}");
        assert_http_error(
            &post(&router, PROXIED, "/push-10", &[&header], "x").await,
            400,
        );
    }
    // X-Forwarded-Proto in two lines: the proxy's (last) one counts.
    let body = event(json!(["two lines"]));
    let head = format!(
        "POST /push-tls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         X-Forwarded-Proto: https\r\nX-Forwarded-Proto: http\r\nContent-Length: {}\r\n\
         Connection: close",
        body.len()
    );
    assert_http_error(
        &raw_http_body(router.addrs[PROXIED], &head, &body).await,
        400,
    );
    assert_nothing_before_marker(router.addr(), &mut sub).await;
}

#[tokio::test]
async fn require_tls_is_met_over_https_and_keeps_the_connection() {
    let (router, mut sub) = with_subscriber().await;
    let mut conn = Conn::open_tls(router.addrs[TLS]).await;
    let res = conn
        .request("POST", "/push-tls", &[], &event(json!(["tls"])))
        .await;
    published(&mut sub, &res, "tls").await;
    for i in 0..4 {
        let res = conn
            .request("POST", "/push-open", &[], &event(json!([i])))
            .await;
        assert!(!says_close(&res), "{res:?}");
        assert_eq!(assert_event(&mut sub, &res, 202).await, json!([i]));
    }
    // Plain HTTP to the same path on the plain transport is refused.
    assert_http_error(&post(&router, PLAIN, "/push-tls", &[], "plain").await, 400);
    assert_nothing_before_marker(router.addr(), &mut sub).await;
}

fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

#[tokio::test]
async fn require_ip_over_ipv6() {
    if !ipv6_loopback() {
        eprintln!("skipped: IPv6 loopback (::1) is not available here");
        return;
    }
    let p = |options: Value| bridge_path("publisher", "anonymous", options);
    let mut v6 = web(
        json!({
            "ws": {"type": "websocket", "serializers": ["json"]},
            "push-open": p(json!({})),
            "push-v6": p(json!({"require_ip": ["::1"]})),
            "push-v6net": p(json!({"require_ip": ["::1/128"]})),
            "push-v6-deny": p(json!({"require_ip": ["fd00::/8"]})),
            "push-v4only": p(json!({"require_ip": ["127.0.0.1", "127.0.0.0/8"]})),
        }),
        Value::Null,
    );
    v6["endpoint"]["interface"] = json!("::1");
    let router = InProcess::start(&common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        vec![v6],
    ));
    assert!(router.addr().is_ipv6(), "{}", router.addr());
    let mut sub = Client::connect(
        &format!("ws://{}/ws", router.addr()),
        &["wamp.2.json"],
        None,
    )
    .await
    .expect("connect over ::1");
    sub.join("realm1").await;
    sub.subscribe(TOPIC, json!({})).await;
    for path in ["/push-v6", "/push-v6net"] {
        let res = request(router.addr(), "POST", path, &[], &event(json!([path]))).await;
        published(&mut sub, &res, path).await;
    }
    for path in ["/push-v6-deny", "/push-v4only"] {
        let res = request(router.addr(), "POST", path, &[], &event(json!([path]))).await;
        assert_http_error(&res, 400);
    }
    assert_nothing_before_marker(router.addr(), &mut sub).await;
}

/// `debug: true` logs each request, accepted or refused, with its path, and never the secret
/// or a signature. The real binary: its log is the behaviour under test.
#[tokio::test]
async fn debug_logs_requests_but_no_secrets() {
    const DEBUG_KEY: &str = "debugkey";
    const DEBUG_SECRET: &str = "debug-secret-never-logged";
    let paths = json!({
        "ws": {"type": "websocket", "serializers": ["json"]},
        "push-signed-debug": bridge_path("publisher", "anonymous",
            json!({"key": DEBUG_KEY, "secret": DEBUG_SECRET, "debug": true})),
    });
    let router = Router::start(&common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        vec![web(paths, Value::Null)],
    ));
    let (mut sub, _) = router.joined("realm1").await;
    sub.subscribe(TOPIC, json!({})).await;
    let before = router.log().matches("push-signed-debug").count();
    let body = event(json!(["debug"]));
    let good = Signed::new(DEBUG_KEY, DEBUG_SECRET, &body, 1);
    let res = request(
        router.addr(),
        "POST",
        &format!("/push-signed-debug?{}", good.query()),
        &[],
        &body,
    )
    .await;
    assert_eq!(assert_event(&mut sub, &res, 202).await, json!(["debug"]));
    let bad = Signed::new(DEBUG_KEY, "wrong", &body, 2);
    let res = request(
        router.addr(),
        "POST",
        &format!("/push-signed-debug?{}", bad.query()),
        &[],
        &body,
    )
    .await;
    assert_http_error(&res, 401);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while router.log().matches("push-signed-debug").count() < before + 2
        && std::time::Instant::now() < deadline
    {
        // The log is read by another thread; there is no event to await.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let log = router.log();
    assert!(
        log.matches("push-signed-debug").count() >= before + 2,
        "debug: true must log each request (accepted and refused) with its path:\n{log}"
    );
    assert!(!log.contains(DEBUG_SECRET), "the secret was logged:\n{log}");
    let encoded = |s: &Signed| {
        let q = s.query();
        q.rsplit_once("signature=").unwrap().1.to_owned()
    };
    for s in [&good, &bad] {
        assert!(
            !log.contains(&s.signature) && !log.contains(&encoded(s)),
            "a signature was logged:\n{log}"
        );
    }
}
