//! The HTTP bridge's caller paths against an in-process router: a POST of
//! `{"procedure", "args", "kwargs"}` becomes a WAMP call answered by a WAMP session here; its
//! YIELD is the 200 body, its ERROR the `{"error": uri, ...}` body (status by strict_status),
//! and signing works as on publisher paths.

use crate::common;

use common::bridge::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

const KEY: &str = "callkey";
const SECRET: &str = "call-secret";

fn config() -> Value {
    let c = |role: &str, options: Value| bridge_path("caller", role, options);
    let roles = vec![
        full_access_role("anonymous"),
        json!({"name": "nocall", "permissions": [{"uri": "", "match": "prefix",
            "allow": {"call": false, "register": true, "publish": true, "subscribe": true}}]}),
    ];
    let paths = json!({
        "ws": {"type": "websocket", "serializers": ["json"]},
        "call": c("anonymous", json!({"timeout": 500})),
        "call-strict": c("anonymous", json!({"strict_status": true, "timeout": 500})),
        "call-signed": c("anonymous", json!({"key": KEY, "secret": SECRET})),
        "call-noauth": c("nocall", json!({})),
        "call-small": c("anonymous", json!({"post_body_limit": 64, "require_ip": ["127.0.0.1"]})),
        "call-strict-noauth": c("nocall", json!({"strict_status": true})),
        "call-deny": c("anonymous", json!({"require_ip": ["10.0.0.0/8"]})),
    });
    common::config(
        vec![json!({"name": "realm1", "roles": roles})],
        vec![web(paths, Value::Null)],
    )
}

/// A router and a session that registered `procedure`.
async fn with_callee(procedure: &str) -> (InProcess, Client, u64) {
    let router = InProcess::start(&config());
    let (mut callee, _) = router.joined("realm1").await;
    let registration = callee.register(procedure, json!({})).await;
    (router, callee, registration)
}

/// Starts the HTTP request in a task (the callee answers meanwhile).
fn spawn_request(
    router: &InProcess,
    target: &str,
    body: Vec<u8>,
) -> tokio::task::JoinHandle<HttpResponse> {
    let (addr, target) = (router.addr(), target.to_owned());
    tokio::spawn(async move { request(addr, "POST", &target, &[], &body).await })
}

/// The next INVOCATION `callee` receives: (request id, registration, args, kwargs). An
/// INTERRUPT for a call the router gave up on is passed over.
async fn invocation(callee: &mut Client) -> (u64, u64, Value, Value) {
    let mut msg = callee.recv().await;
    while msg[0] == 69 {
        msg = callee.recv().await;
    }
    assert_eq!(msg[0], 68, "expected INVOCATION, got {msg}");
    (
        msg[1].as_u64().unwrap(),
        msg[2].as_u64().unwrap(),
        msg.get(4).cloned().unwrap_or(json!([])),
        msg.get(5).cloned().unwrap_or(json!({})),
    )
}

#[tokio::test]
async fn a_call_returns_the_callees_result() {
    let (router, mut callee, registration) = with_callee("com.example.echo").await;
    let args = json!(["x", 1, 1_u64 << 40, -0.5, null, true, {"deep": [1, {"ü": "€"}]}, []]);
    let kwargs = json!({"a": 1, "b": [true, false], "c": {"d": "日本語"}});
    let body = json!({"procedure": "com.example.echo", "args": args, "kwargs": kwargs});
    let pending = spawn_request(&router, "/call", body.to_string().into_bytes());
    let (request_id, reg, got_args, got_kwargs) = invocation(&mut callee).await;
    assert_eq!(
        (reg, &got_args, &got_kwargs),
        (registration, &args, &kwargs)
    );
    callee
        .send(json!([70, request_id, {}, got_args, got_kwargs]))
        .await;
    let res = pending.await.unwrap();
    assert_eq!(res.status, 200, "{res:?}");
    assert_bridge_headers(&res, None, true);
    assert_eq!(res.json(), json!({"args": args, "kwargs": kwargs}));

    // A YIELD without args and kwargs is `{}`; kwargs only are `{"kwargs": ...}`.
    let pending = spawn_request(
        &router,
        "/call",
        br#"{"procedure":"com.example.echo"}"#.to_vec(),
    );
    let (request_id, ..) = invocation(&mut callee).await;
    callee.send(json!([70, request_id, {}])).await;
    assert_eq!(pending.await.unwrap().json(), json!({}));
    let pending = spawn_request(
        &router,
        "/call",
        br#"{"procedure":"com.example.echo"}"#.to_vec(),
    );
    let (request_id, ..) = invocation(&mut callee).await;
    callee
        .send(json!([70, request_id, {}, [], {"total": 3}]))
        .await;
    assert_eq!(
        pending.await.unwrap().json(),
        json!({"kwargs": {"total": 3}})
    );
}

#[tokio::test]
async fn a_callee_error_is_the_error_body() {
    let (router, mut callee, _) = with_callee("com.example.fail").await;
    // An application error is a 200 even with strict_status (only the router's own errors
    // have a status of their own).
    for path in ["/call", "/call-strict"] {
        let pending = spawn_request(
            &router,
            path,
            br#"{"procedure":"com.example.fail","args":[1]}"#.to_vec(),
        );
        let (request_id, _, args, _) = invocation(&mut callee).await;
        assert_eq!(args, json!([1]));
        callee
            .send(json!([8, 68, request_id, {}, "com.example.error.oops", ["bad", 42], {"reason": "testing"}]))
            .await;
        let res = pending.await.unwrap();
        let body = assert_wamp_error(&res, "com.example.error.oops", 200);
        assert_eq!(body["args"], json!(["bad", 42]), "{body}");
        assert_eq!(body["kwargs"], json!({"reason": "testing"}), "{body}");
    }
}

#[tokio::test]
async fn router_errors_map_to_wamp_errors_and_strict_statuses() {
    let (router, mut callee, _) = with_callee("com.example.hang").await;
    let addr = router.addr();
    let nobody = json!({"procedure": "com.example.nobody.home"});
    assert_wamp_error(
        &post_json(addr, "/call", &[], &nobody).await,
        "wamp.error.no_such_procedure",
        200,
    );
    assert_wamp_error(
        &post_json(addr, "/call-strict", &[], &nobody).await,
        "wamp.error.no_such_procedure",
        404,
    );
    let bad_uri = json!({"procedure": "com.example.has space"});
    assert_wamp_error(
        &post_json(addr, "/call", &[], &bad_uri).await,
        "wamp.error.invalid_uri",
        200,
    );
    assert_wamp_error(
        &post_json(addr, "/call-strict", &[], &bad_uri).await,
        "wamp.error.invalid_uri",
        400,
    );
    let hang = json!({"procedure": "com.example.hang"});
    assert_wamp_error(
        &post_json(addr, "/call-noauth", &[], &hang).await,
        "wamp.error.not_authorized",
        200,
    );
    // A callee that never answers: the path's timeout (500 ms).
    for (path, status) in [("/call", 200), ("/call-strict", 504)] {
        let pending = spawn_request(&router, path, hang.to_string().into_bytes());
        let started = std::time::Instant::now();
        invocation(&mut callee).await;
        let res = pending.await.unwrap();
        assert_wamp_error(&res, "wamp.error.timeout", status);
        let waited = started.elapsed();
        assert!(
            waited < std::time::Duration::from_secs(3),
            "answered after {waited:?}"
        );
    }
}

#[tokio::test]
async fn refused_requests_invoke_nothing() {
    let (router, mut callee, _) = with_callee("com.example.add").await;
    let addr = router.addr();
    for body in [&b"{}"[..], b"{\"args\": [1]}", b"{nope", b"[1, 2]"] {
        assert_http_error(&request(addr, "POST", "/call", &[], body).await, 400);
    }
    let big = json!({"procedure": "com.example.add", "kwargs": {"pad": "x".repeat(64)}});
    assert_http_error(&post_json(addr, "/call-small", &[], &big).await, 413);
    assert_http_error(&request(addr, "GET", "/call", &[], b"").await, 405);
    // The next invocation the callee sees is the one made now.
    let pending = spawn_request(
        &router,
        "/call",
        br#"{"procedure":"com.example.add","args":[2,3]}"#.to_vec(),
    );
    let (request_id, _, args, _) = invocation(&mut callee).await;
    assert_eq!(args, json!([2, 3]));
    callee.send(json!([70, request_id, {}, [5]])).await;
    assert_eq!(pending.await.unwrap().json(), json!({"args": [5]}));
}

#[tokio::test]
async fn a_signed_call_is_checked_like_a_signed_publish() {
    let (router, mut callee, _) = with_callee("com.example.add").await;
    let body = br#"{"procedure":"com.example.add","args":[20,22]}"#;
    let signed = Signed::new(KEY, SECRET, body, 1);
    let target = format!("/call-signed?{}", signed.query());
    let pending = spawn_request(&router, &target, body.to_vec());
    let (request_id, _, args, _) = invocation(&mut callee).await;
    assert_eq!(args, json!([20, 22]));
    callee.send(json!([70, request_id, {}, [42]])).await;
    let res = pending.await.unwrap();
    assert_eq!((res.status, res.json()), (200, json!({"args": [42]})));
    // Replayed, unsigned, wrongly signed: refused before any invocation.
    assert_http_error(
        &request(router.addr(), "POST", &target, &[], body).await,
        401,
    );
    assert_http_error(
        &request(router.addr(), "POST", "/call-signed", &[], body).await,
        400,
    );
    let wrong = Signed::new(KEY, "wrong", body, 2);
    let res = request(
        router.addr(),
        "POST",
        &format!("/call-signed?{}", wrong.query()),
        &[],
        body,
    )
    .await;
    assert_http_error(&res, 401);
    let pending = spawn_request(
        &router,
        "/call",
        br#"{"procedure":"com.example.add","args":[1,1]}"#.to_vec(),
    );
    let (request_id, _, args, _) = invocation(&mut callee).await;
    assert_eq!(args, json!([1, 1]), "the refused calls invoked nothing");
    callee.send(json!([70, request_id, {}, [2]])).await;
    assert_eq!(pending.await.unwrap().json(), json!({"args": [2]}));
    // Signed again with another nonce: accepted.
    let again = Signed::new(KEY, SECRET, body, 2);
    let pending = spawn_request(
        &router,
        &format!("/call-signed?{}", again.query()),
        body.to_vec(),
    );
    let (request_id, _, args, _) = invocation(&mut callee).await;
    assert_eq!(args, json!([20, 22]));
    callee.send(json!([70, request_id, {}, [42]])).await;
    let res = pending.await.unwrap();
    assert_eq!((res.status, res.json()), (200, json!({"args": [42]})));
}

#[tokio::test]
async fn more_refusals_and_options_invoke_nothing() {
    let (router, mut callee, _) = with_callee("com.example.add").await;
    let addr = router.addr();
    for body in [
        &br#"{"topic": "com.example.add"}"#[..],
        br#""com.example.add""#,
        b"\xff",
    ] {
        assert_http_error(&request(addr, "POST", "/call", &[], body).await, 400);
    }
    assert_http_error(&request(addr, "DELETE", "/call", &[], b"").await, 405);
    let add = br#"{"procedure":"com.example.add","args":[2,3]}"#;
    for ct in ["text/plain", "application/json; charset=latin-1"] {
        let res = request(
            addr,
            "POST",
            "/call",
            &[&format!("Content-Type: {ct}")],
            add,
        )
        .await;
        assert_http_error(&res, 400);
    }
    assert_http_error(&request(addr, "POST", "/call-deny", &[], add).await, 400);
    assert_wamp_error(
        &request(addr, "POST", "/call-noauth", &[], add).await,
        "wamp.error.not_authorized",
        200,
    );
    assert_wamp_error(
        &request(addr, "POST", "/call-strict-noauth", &[], add).await,
        "wamp.error.not_authorized",
        403,
    );
    // Preflight without an Origin: 200, empty, the methods.
    let head = format!("OPTIONS /call HTTP/1.1\r\nHost: {addr}\r\nConnection: close");
    let res = raw_http(addr, &head).await;
    assert_eq!(
        (res.status, res.body.as_slice()),
        (200, &b""[..]),
        "{res:?}"
    );
    assert_eq!(res.header("allow"), Some("POST,PUT,OPTIONS"), "{res:?}");
    // The next invocation the callee sees is the one made now.
    let pending = spawn_request(&router, "/call", add.to_vec());
    let (request_id, _, args, _) = invocation(&mut callee).await;
    assert_eq!(args, json!([2, 3]), "a refused request invoked the callee");
    callee.send(json!([70, request_id, {}, [5]])).await;
    assert_eq!(pending.await.unwrap().json(), json!({"args": [5]}));
}

#[tokio::test]
async fn a_timed_out_call_waits_the_timeout_and_leaves_the_callee_usable() {
    let (router, mut callee, _) = with_callee("com.example.hang").await;
    let hang = br#"{"procedure":"com.example.hang"}"#;
    let started = std::time::Instant::now();
    let pending = spawn_request(&router, "/call", hang.to_vec());
    invocation(&mut callee).await;
    assert_wamp_error(&pending.await.unwrap(), "wamp.error.timeout", 200);
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(400),
        "a 500 ms timeout answered after only {waited:?}"
    );
    let pending = spawn_request(
        &router,
        "/call",
        br#"{"procedure":"com.example.hang","args":[1]}"#.to_vec(),
    );
    let (request_id, _, args, _) = invocation(&mut callee).await;
    assert_eq!(args, json!([1]));
    callee.send(json!([70, request_id, {}, ["done"]])).await;
    assert_eq!(pending.await.unwrap().json(), json!({"args": ["done"]}));
}

/// Answers `com.example.add` (registration `add`) with the sum of its two args and leaves any
/// other invocation unanswered; returns how many it left.
fn spawn_adder(mut callee: Client, add: u64) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut unanswered = 0;
        while let Some(msg) = callee.recv_within(std::time::Duration::from_secs(10)).await {
            if msg[0] != 68 {
                continue;
            }
            if msg[2] == add {
                let sum = msg[4][0].as_i64().unwrap() + msg[4][1].as_i64().unwrap();
                callee.send(json!([70, msg[1], {}, [sum]])).await;
            } else {
                unanswered += 1;
            }
        }
        unanswered
    })
}

#[tokio::test]
async fn calls_share_a_kept_alive_connection_and_do_not_wait_for_each_other() {
    let (router, mut callee, add) = with_callee("com.example.add").await;
    callee.register("com.example.hang", json!({})).await;
    let _adder = spawn_adder(callee, add);
    let mut conn = Conn::open(router.addr()).await;
    for i in 0..5 {
        let body = json!({"procedure": "com.example.add", "args": [i, i]});
        let res = conn
            .request("POST", "/call", &[], body.to_string().as_bytes())
            .await;
        assert!(!says_close(&res), "{res:?}");
        assert_eq!((res.status, res.json()), (200, json!({"args": [2 * i]})));
    }
    // Concurrent calls, one hanging until the timeout: the others are not held up by it.
    let hang = spawn_request(
        &router,
        "/call",
        br#"{"procedure":"com.example.hang"}"#.to_vec(),
    );
    let adds: Vec<_> = (0..8)
        .map(|i| {
            let body = json!({"procedure": "com.example.add", "args": [i, 100]});
            spawn_request(&router, "/call", body.to_string().into_bytes())
        })
        .collect();
    for (i, pending) in adds.into_iter().enumerate() {
        assert_eq!(pending.await.unwrap().json(), json!({"args": [i + 100]}));
    }
    assert!(!hang.is_finished(), "the calls waited for the hanging one");
    assert_wamp_error(&hang.await.unwrap(), "wamp.error.timeout", 200);
}
