//! Time and count limits per connection (issue 12, item 5): a connection that never joins a
//! realm, an HTTP body that trickles in, an idle keep-alive connection, too many connections
//! (from one address or in all), and a client that keeps failing to log in.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// Reads (and drops) what arrives until the router closes the connection; the time that took,
/// or `None` when it is still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((start + limit).into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Everything the router sends until it closes the connection (at most 5 s).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn web_with(ws_options: Value, web_options: Value, endpoint: Value) -> Value {
    let mut transport = web_transport(ws_options);
    transport["options"] = web_options;
    for (key, value) in endpoint.as_object().cloned().unwrap_or_default() {
        transport["endpoint"][key] = value;
    }
    transport["paths"]["push"] =
        json!({"type": "publisher", "realm": "realm1", "role": "anonymous"});
    config(vec![open_realm("realm1", "loose")], vec![transport])
}

#[tokio::test]
async fn websocket_without_hello_is_closed_at_join_timeout() {
    let router = Router::start(&web_with(
        json!({"join_timeout": 500}),
        json!({}),
        json!({}),
    ));
    let mut silent = router.json().await;
    let mut joined = router.json().await;
    joined.join("realm1").await;
    let start = Instant::now();
    let closed = silent.expect_close().await;
    let frame = closed.frame.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1008, "{frame:?}");
    assert!(frame.reason.contains("join_timeout"), "{frame:?}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // A session that joined in time is not touched by the deadline.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let subscribed = joined.subscribe("com.example.still.here", json!({})).await;
    assert!(subscribed > 0);
    assert!(router.log().contains("join_timeout"), "{}", router.log());
}

#[tokio::test]
async fn rawsocket_without_hello_is_closed_at_join_timeout() {
    let transport = json!({
        "type": "rawsocket",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
        "options": {"join_timeout": 500}
    });
    let router = Router::start(&config(
        vec![open_realm("realm1", "loose")],
        vec![transport],
    ));
    let mut stream = TcpStream::connect(router.addr()).await.unwrap();
    stream.write_all(&[0x7F, 0xF1, 0, 0]).await.unwrap();
    let mut reply = [0u8; 4];
    stream.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply[0], 0x7F, "handshake accepted: {reply:?}");
    let closed = closed_within(&mut stream, Duration::from_secs(3)).await;
    assert!(
        closed.is_some(),
        "a RawSocket session without HELLO stays open"
    );
}

#[tokio::test]
async fn trickled_http_body_times_out_with_408() {
    let router = Router::start(&web_with(
        json!({}),
        json!({"body_timeout": 500}),
        json!({}),
    ));
    let mut stream = TcpStream::connect(router.addr()).await.unwrap();
    let head = "POST /push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 100\r\n\r\n{\"topic\":";
    stream.write_all(head.as_bytes()).await.unwrap();
    let trickle = async {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stream.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), trickle).await;
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("body_timeout"), "{answer:?}");
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed_at_client_timeout() {
    let router = Router::start(&web_with(
        json!({}),
        json!({"client_timeout": 1}),
        json!({}),
    ));
    let mut stream = TcpStream::connect(router.addr()).await.unwrap();
    stream
        .write_all(b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let closed = closed_within(&mut stream, Duration::from_secs(4)).await;
    let took = closed.expect("an idle keep-alive connection stays open");
    assert!(
        took >= Duration::from_millis(900),
        "closed before client_timeout: {took:?}"
    );
}

/// Opens WebSocket connections (not joined) until one is refused; returns how many opened
/// and the refusal's status and body.
async fn open_until_refused(router: &Router, most: usize) -> (Vec<Client>, u16, String) {
    let mut open = Vec::new();
    for _ in 0..most {
        match Client::connect(&router.url("/ws"), &["wamp.2.json"], None).await {
            Ok(client) => open.push(client),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body =
                    String::from_utf8_lossy(response.body().as_deref().unwrap_or(&[])).into_owned();
                return (open, status, body);
            }
            Err(e) => panic!("connect failed: {e}"),
        }
    }
    panic!("{most} connections were all accepted");
}

#[tokio::test]
async fn connections_over_max_connections_per_ip_get_503() {
    let router = Router::start(&web_with(
        json!({}),
        json!({}),
        json!({"max_connections_per_ip": 3}),
    ));
    let (mut open, status, body) = open_until_refused(&router, 10).await;
    assert_eq!(open.len(), 3);
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).expect("a JSON body");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("max_connections_per_ip"),
        "{body}"
    );
    // One leaves: there is room again.
    drop(open.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = router.json().await;
    again.join("realm1").await;
    // Refusals are logged, but not once each: 20 more refusals in a burst, few lines.
    for _ in 0..20 {
        let _ = ws_connect(&router.url("/ws"), &["wamp.2.json"], None).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = router.log().matches("refusing connection").count();
    assert!(
        (1..=3).contains(&lines),
        "{lines} refusal lines:\n{}",
        router.log()
    );
}

#[tokio::test]
async fn connections_over_max_connections_get_503_and_rawsocket_error_4() {
    let router = Router::start(&web_with(
        json!({}),
        json!({}),
        json!({"max_connections": 2}),
    ));
    let (open, status, body) = open_until_refused(&router, 10).await;
    assert_eq!((open.len(), status), (2, 503), "{body}");
    assert!(body.contains("max_connections"), "{body}");

    let transport = json!({
        "type": "rawsocket",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0, "max_connections": 1}
    });
    let router = Router::start(&config(
        vec![open_realm("realm1", "loose")],
        vec![transport],
    ));
    let mut first = TcpStream::connect(router.addr()).await.unwrap();
    first.write_all(&[0x7F, 0xF1, 0, 0]).await.unwrap();
    let mut reply = [0u8; 4];
    first.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply[1] & 0x0F, 1, "first accepted: {reply:?}");
    let mut second = TcpStream::connect(router.addr()).await.unwrap();
    second.write_all(&[0x7F, 0xF1, 0, 0]).await.unwrap();
    second.read_exact(&mut reply).await.unwrap();
    // RawSocket's error 4: "maximum connection count reached".
    assert_eq!(reply, [0x7F, 0x40, 0, 0]);
}

#[tokio::test]
async fn failed_logins_from_one_address_are_limited() {
    let mut config = default_config();
    config["workers"][0]["transports"][0]["paths"]["ws"]["auth"] = json!({
        "ticket": {"type": "static",
                   "principals": {"joe": {"ticket": "joe-ticket", "role": "anonymous"}}}
    });
    let router = Router::start(&config);
    let login = |ticket: &'static str| {
        let router = &router;
        async move {
            let mut client = router.json().await;
            let challenge = client
                .request(
                    json!([1, "realm1", {"authmethods": ["ticket"], "authid": "joe",
                                              "roles": {"caller": {}}}]),
                )
                .await;
            if challenge[0] != 4 {
                return challenge;
            }
            client.request(json!([5, ticket, {}])).await
        }
    };
    assert_eq!(login("joe-ticket").await[0], 2, "the right ticket joins");
    let mut refused_early = None;
    for attempt in 1..=40 {
        let reply = login("wrong").await;
        assert_eq!(reply[0], 3, "{reply}");
        if reply[2].as_str() == Some("wamp.error.authentication_failed")
            && reply[1]["message"]
                .as_str()
                .is_some_and(|m| m.contains("too many failed logins"))
        {
            refused_early = Some(attempt);
            break;
        }
    }
    let attempt = refused_early.expect("40 failed logins in a row were all checked");
    assert!(attempt > 5, "limited after only {attempt} failures");
    let reply = login("joe-ticket").await;
    assert_eq!(
        reply[0], 3,
        "the right ticket is refused too while limited: {reply}"
    );
    assert!(
        router.log().contains("too many failed logins"),
        "{}",
        router.log()
    );
}
