//! The `longpoll` path type against a router in this process, spoken with raw HTTP as the WAMP
//! advanced profile describes it: `open`, `send`, `receive` (long poll), `close`; JSON and
//! MessagePack, unbatched (one message per request) and batched; sessions on it meet
//! WebSocket sessions in the same realm; `request_timeout` and `session_timeout`; unknown ids.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common;
use common::bridge::*;
use common::calls::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

fn router(options: Value) -> InProcess {
    let paths = json!({
        "ws": {"type": "websocket"},
        "lp": {"type": "longpoll", "options": options}
    });
    InProcess::start(&common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        vec![web(paths, Value::Null)],
    ))
}

/// One long-poll transport, as a client drives it.
struct LongPoll {
    addr: SocketAddr,
    base: String,
    protocol: String,
}

impl LongPoll {
    /// `open` offering `protocols`; panics unless it is answered 200.
    async fn open(addr: SocketAddr, protocols: &[&str]) -> LongPoll {
        let res = post_json(addr, "/lp/open", &[], &json!({"protocols": protocols})).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let answer = res.json();
        let id = answer["transport"].as_str().expect("transport id");
        assert!(
            id.len() >= 16,
            "a transport id that cannot be guessed: {id}"
        );
        LongPoll {
            addr,
            base: format!("/lp/{id}"),
            protocol: answer["protocol"].as_str().unwrap().to_string(),
        }
    }

    async fn post(&self, operation: &str, body: &[u8]) -> HttpResponse {
        let target = format!("{}/{operation}", self.base);
        request(self.addr, "POST", &target, &[], body).await
    }

    /// `send` of one JSON message (or a raw body); expects 204.
    async fn send(&self, message: Value) {
        let res = self.post("send", message.to_string().as_bytes()).await;
        assert_eq!(res.status, 204, "{}", String::from_utf8_lossy(&res.body));
    }

    /// `receive` of one JSON message (unbatched).
    async fn receive(&self) -> Value {
        let res = self.post("receive", b"").await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        res.json()
    }

    /// HELLO, then WELCOME; the session id.
    async fn join(&self) -> u64 {
        self.send(
            json!([1, "realm1", {"roles": {"subscriber": {}, "publisher": {}, "caller": {}}}]),
        )
        .await;
        let welcome = self.receive().await;
        assert_eq!(welcome[0], 2, "expected WELCOME, got {welcome}");
        welcome[1].as_u64().unwrap()
    }
}

#[tokio::test]
async fn a_long_poll_session_meets_websocket_sessions() {
    let router = router(json!({"request_timeout": 3}));
    let lp = LongPoll::open(router.addrs[0], &["wamp.2.cbor.x", "wamp.2.json"]).await;
    assert_eq!(
        lp.protocol, "wamp.2.json",
        "the first protocol offered that is served"
    );
    let session = lp.join().await;

    let (mut ws, _) = router.joined("realm1").await;
    let details = call(&mut ws, "wamp.session.get", json!([session])).await;
    assert_eq!(details["transport"]["type"], "longpoll", "{details}");
    assert_eq!(details["transport"]["protocol"], "wamp.2.json", "{details}");

    // Subscribe over long-poll, publish from the WebSocket: a waiting receive answers as soon
    // as the event is queued.
    lp.send(json!([32, 1, {}, "com.example.news"])).await;
    let subscribed = lp.receive().await;
    assert_eq!(subscribed[0], 33, "{subscribed}");
    let addr = router.addrs[0];
    let base = lp.base.clone();
    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        let res = request(addr, "POST", &format!("{base}/receive"), &[], b"").await;
        (res, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (published, _) = ws
        .publish_ack("com.example.news", json!({}), json!(["hello"]))
        .await;
    assert_eq!(published[0], 17, "{published}");
    let (res, waited) = waiting.await.unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let event = res.json();
    assert_eq!(event[0], 36, "{event}");
    assert_eq!(event[4], json!(["hello"]));
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "the receive waited for the event, then answered: {waited:?}"
    );

    // Call a procedure a WebSocket session registered.
    let registration = ws.register("com.example.add", json!({})).await;
    lp.send(json!([48, 2, {}, "com.example.add", [2, 3]])).await;
    let invocation = ws.recv().await;
    assert_eq!(invocation[0], 68, "{invocation}");
    assert_eq!(invocation[2], registration);
    ws.send(json!([70, invocation[1], {}, [5]])).await;
    let result = lp.receive().await;
    assert_eq!(result, json!([50, 2, {}, [5]]));

    // Unbatched: several queued messages come one per receive, in order.
    for n in 0..3 {
        ws.publish_ack("com.example.news", json!({}), json!([n]))
            .await;
    }
    for n in 0..3 {
        assert_eq!(lp.receive().await[4], json!([n]));
    }

    // GOODBYE, then close: the session has left, the id answers close but nothing else.
    lp.send(json!([6, {}, "wamp.close.close_realm"])).await;
    assert_eq!(lp.receive().await[0], 6);
    assert_eq!(lp.post("close", b"").await.status, 204);
    assert_eq!(
        lp.post("close", b"").await.status,
        204,
        "a late close succeeds"
    );
    let gone = lp.post("receive", b"").await;
    assert_eq!(gone.status, 404);
    let sessions = call(&mut ws, "wamp.session.count", json!([])).await;
    assert_eq!(sessions, json!(1), "only the WebSocket session is left");
}

#[tokio::test]
async fn receive_answers_empty_after_request_timeout() {
    let router = router(json!({"request_timeout": 1}));
    let lp = LongPoll::open(router.addrs[0], &["wamp.2.json"]).await;
    lp.join().await;
    let started = Instant::now();
    let res = lp.post("receive", b"").await;
    let waited = started.elapsed();
    assert_eq!(res.status, 204, "{}", String::from_utf8_lossy(&res.body));
    assert!(res.body.is_empty());
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "answered after request_timeout: {waited:?}"
    );
    assert_eq!(res.header("cache-control"), Some(NO_CACHE));
    // The transport goes on.
    lp.send(json!([32, 1, {}, "t"])).await;
    assert_eq!(lp.receive().await[0], 33);
}

#[tokio::test]
async fn session_timeout_closes_a_silent_transport_and_its_session_leaves() {
    let router = router(json!({"session_timeout": 1, "request_timeout": 1}));
    let (mut ws, _) = router.joined("realm1").await;
    let on_leave = ws.subscribe("wamp.session.on_leave", json!({})).await;
    let lp = LongPoll::open(router.addrs[0], &["wamp.2.json"]).await;
    let session = lp.join().await;

    // Polling keeps it alive past session_timeout.
    for _ in 0..2 {
        assert_eq!(lp.post("receive", b"").await.status, 204);
    }
    ws.expect_silence(Duration::from_millis(100)).await;

    // Silent for longer: closed, the session left (as when a WebSocket drops).
    let (args, _) = event_on(&mut ws, on_leave).await;
    assert_eq!(args[0], session, "{args}");
    assert_eq!(lp.post("receive", b"").await.status, 404);
    let res = lp.post("send", b"[32, 1, {}, \"t\"]").await;
    assert_eq!(res.status, 404);
    assert!(res.json()["error"].as_str().unwrap().contains("closed"));
}

#[tokio::test]
async fn unknown_transports_and_bad_opens_are_refused_with_json() {
    let router = router(json!({}));
    let addr = router.addrs[0];
    let res = request(addr, "POST", "/lp/nosuchtransport/send", &[], b"[1]").await;
    assert_eq!(res.status, 404);
    assert!(
        res.json()["error"]
            .as_str()
            .unwrap()
            .contains("nosuchtransport")
    );
    assert_eq!(
        request(addr, "POST", "/lp/x/receive", &[], b"")
            .await
            .status,
        404
    );

    let bad = post_json(addr, "/lp/open", &[], &json!({"protocols": ["wamp.2.xml"]})).await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["error"]
            .as_str()
            .unwrap()
            .contains("no common protocol")
    );
    assert_eq!(
        request(addr, "POST", "/lp/open", &[], b"{").await.status,
        400
    );
    assert_eq!(
        post_json(addr, "/lp/open", &[], &json!({})).await.status,
        400
    );
    assert_eq!(request(addr, "GET", "/lp/open", &[], b"").await.status, 405);
    let preflight = request(
        addr,
        "OPTIONS",
        "/lp/open",
        &["Origin: https://app.example.com"],
        b"",
    )
    .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );

    // A body that is not WAMP: 400, and the session is aborted.
    let lp = LongPoll::open(addr, &["wamp.2.json"]).await;
    let res = lp.post("send", b"not json").await;
    assert_eq!(res.status, 400);
    let abort = lp.receive().await;
    assert_eq!(abort[0], 3, "{abort}");
}

#[tokio::test]
async fn msgpack_unbatched_and_batched() {
    let router = router(json!({"request_timeout": 2}));
    let addr = router.addrs[0];
    let hello = json!([1, "realm1", {"roles": {"subscriber": {}, "publisher": {}}}]);

    let lp = LongPoll::open(addr, &["wamp.2.msgpack"]).await;
    assert_eq!(lp.protocol, "wamp.2.msgpack");
    let res = lp.post("send", &msgpack_encode(&hello)).await;
    assert_eq!(res.status, 204);
    let res = lp.post("receive", b"").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/x-msgpack"));
    assert_eq!(msgpack_decode(&res.body)[0], 2);

    // Batched: several messages in one send, every queued one in one receive.
    let lp = LongPoll::open(addr, &["wamp.2.msgpack.batched", "wamp.2.json"]).await;
    assert_eq!(lp.protocol, "wamp.2.msgpack.batched");
    let mut body = Vec::new();
    for message in [
        hello,
        json!([32, 1, {}, "t"]),
        json!([16, 2, {"acknowledge": true, "exclude_me": false}, "t", [7]]),
    ] {
        let encoded = msgpack_encode(&message);
        body.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
        body.extend_from_slice(&encoded);
    }
    assert_eq!(lp.post("send", &body).await.status, 204);
    let mut kinds = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while kinds.len() < 4 && Instant::now() < deadline {
        let res = lp.post("receive", b"").await;
        assert_eq!(res.status, 200);
        for message in split_length_prefixed(&res.body) {
            kinds.push(msgpack_decode(message)[0].as_u64().unwrap());
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        vec![2, 17, 33, 36],
        "WELCOME, PUBLISHED, SUBSCRIBED, EVENT"
    );
}

#[tokio::test]
async fn json_batched_answers_with_the_clients_separator() {
    let router = router(json!({"request_timeout": 2}));
    let lp = LongPoll::open(router.addrs[0], &["wamp.2.json.batched"]).await;
    let body = "[1,\"realm1\",{\"roles\":{\"subscriber\":{}}}]\u{1e}[32,1,{},\"t\"]\u{1e}";
    assert_eq!(lp.post("send", body.as_bytes()).await.status, 204);
    let mut messages = Vec::new();
    while messages.len() < 2 {
        let res = lp.post("receive", b"").await;
        assert_eq!(res.status, 200);
        assert_eq!(res.body.last(), Some(&0x1e), "each message ends with 0x1E");
        for part in res.body.split(|b| *b == 0x1e).filter(|p| !p.is_empty()) {
            messages.push(serde_json::from_slice::<Value>(part).unwrap()[0].clone());
        }
    }
    assert_eq!(messages, vec![json!(2), json!(33)]);
}

#[tokio::test]
async fn a_client_that_stops_polling_is_closed_as_a_slow_consumer() {
    let router = router(json!({"queue_limit_messages": 3, "request_timeout": 1}));
    let (mut ws, _) = router.joined("realm1").await;
    let on_leave = ws.subscribe("wamp.session.on_leave", json!({})).await;
    let lp = LongPoll::open(router.addrs[0], &["wamp.2.json"]).await;
    let session = lp.join().await;
    lp.send(json!([32, 1, {}, "com.example.flood"])).await;
    assert_eq!(lp.receive().await[0], 33);

    // Events pile up past queue_limit_messages while nobody receives.
    let (mut publisher, _) = router.joined("realm1").await;
    for n in 0..5 {
        publisher
            .send(json!([16, n + 1, {}, "com.example.flood", [n]]))
            .await;
    }
    let (args, _) = event_on(&mut ws, on_leave).await;
    assert_eq!(args[0], session, "{args}");
    assert_eq!(lp.post("receive", b"").await.status, 404);
}

/// One client cannot fill the node with transports: `max_transports_per_ip` open transports
/// per client address, `max_transports` on the path; more are refused with 503 JSON, and a
/// place is free again once a transport has ended.
#[tokio::test]
async fn open_transports_are_bounded_per_address_and_per_path() {
    let per_ip = router(json!({"max_transports_per_ip": 3, "max_transports": 5}));
    let addr = per_ip.addrs[0];
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(LongPoll::open(addr, &["wamp.2.json"]).await);
    }
    let refused = post_json(
        addr,
        "/lp/open",
        &[],
        &json!({"protocols": ["wamp.2.json"]}),
    )
    .await;
    assert_eq!(
        refused.status,
        503,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("max_transports_per_ip"),
        "{:?}",
        refused.json()
    );
    // A closed transport gives its place back.
    assert_eq!(open.pop().unwrap().post("close", b"").await.status, 204);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = post_json(
            addr,
            "/lp/open",
            &[],
            &json!({"protocols": ["wamp.2.json"]}),
        )
        .await;
        if again.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the place never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let per_path = router(json!({"max_transports_per_ip": 100, "max_transports": 2}));
    let addr = per_path.addrs[0];
    let _a = LongPoll::open(addr, &["wamp.2.json"]).await;
    let _b = LongPoll::open(addr, &["wamp.2.json"]).await;
    let refused = post_json(
        addr,
        "/lp/open",
        &[],
        &json!({"protocols": ["wamp.2.json"]}),
    )
    .await;
    assert_eq!(refused.status, 503);
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("max_transports")
    );
}
