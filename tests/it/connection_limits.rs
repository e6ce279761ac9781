//! Bounded memory and time per connection (issue 12): what a client that pipelines, never
//! reads, never says HELLO or floods pings gets, and that a well-behaved client is never
//! dropped for its own requests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::common::*;

/// Sends `requests` (built from a request id) all at once on a joined JSON session, reading
/// nothing for a second, then reads until every request has its reply. Returns the replies'
/// message codes, or what ended the connection early.
async fn pipelined(router: &Router, count: u64, request: impl Fn(u64) -> Value) -> Vec<u64> {
    let (ws, _) = ws_connect(&router.url("/ws"), &["wamp.2.json"], None)
        .await
        .expect("connect");
    let (mut sink, mut stream) = ws.split();
    sink.send(WsMessage::text(
        json!([1, "realm1", {"roles": {"subscriber": {}, "callee": {}, "caller": {}}}]).to_string(),
    ))
    .await
    .expect("HELLO");
    let welcome = stream.next().await.expect("WELCOME").expect("WELCOME");
    assert!(welcome.to_text().unwrap().starts_with("[2,"), "{welcome}");
    // The writer runs on its own: the router may stop reading while its replies wait (that is
    // the backpressure asked for), so writing must not hold up the test's reading.
    let frames: Vec<WsMessage> = (1..=count)
        .map(|id| WsMessage::text(request(id).to_string()))
        .collect();
    let writer = tokio::spawn(async move {
        for frame in frames {
            if sink.feed(frame).await.is_err() {
                return sink;
            }
        }
        let _ = sink.flush().await;
        sink
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut codes = Vec::new();
    while (codes.len() as u64) < count {
        let frame = tokio::time::timeout(Duration::from_secs(20), stream.next()).await;
        match frame {
            Ok(Some(Ok(WsMessage::Text(text)))) => {
                let msg: Value = serde_json::from_str(&text).expect("JSON");
                codes.push(msg[0].as_u64().unwrap_or(0));
            }
            Ok(Some(Ok(WsMessage::Close(frame)))) => {
                panic!(
                    "closed after {} of {count} replies: {frame:?}; log:\n{}",
                    codes.len(),
                    router.log()
                )
            }
            Ok(Some(Ok(_))) => {}
            other => panic!(
                "connection ended after {} of {count} replies: {other:?}; log:\n{}",
                codes.len(),
                router.log()
            ),
        }
    }
    drop(writer.await.expect("writer"));
    codes
}

fn open_router() -> Router {
    Router::start(&config(
        vec![open_realm("realm1", "loose")],
        vec![web_transport(json!({}))],
    ))
}

#[tokio::test]
async fn pipelined_subscribes_are_all_answered() {
    let router = open_router();
    let codes = pipelined(&router, 20_000, |id| {
        json!([32, id, {}, format!("com.pipe.topic{id}")])
    })
    .await;
    assert!(codes.iter().all(|&c| c == 33), "not all SUBSCRIBED");
    assert!(!router.log().contains("slow consumer"), "{}", router.log());
}

#[tokio::test]
async fn pipelined_registers_are_all_answered() {
    let router = open_router();
    let codes = pipelined(&router, 20_000, |id| {
        json!([64, id, {}, format!("com.pipe.proc{id}")])
    })
    .await;
    assert!(codes.iter().all(|&c| c == 65), "not all REGISTERED");
    assert!(!router.log().contains("slow consumer"), "{}", router.log());
}

#[tokio::test]
async fn pipelined_meta_calls_are_all_answered() {
    let router = open_router();
    let codes = pipelined(&router, 20_000, |id| {
        json!([48, id, {}, "wamp.session.count"])
    })
    .await;
    assert!(codes.iter().all(|&c| c == 50), "not all RESULT");
    assert!(!router.log().contains("slow consumer"), "{}", router.log());
}

/// A masked WebSocket ping frame with a 125-byte payload (the largest a control frame holds).
fn ping_frame() -> Vec<u8> {
    let mut frame = vec![0x89, 0x80 | 125, 1, 2, 3, 4];
    frame.extend((0..125u8).map(|i| i ^ [1, 2, 3, 4][usize::from(i % 4)]));
    frame
}

#[tokio::test]
async fn ping_flood_without_reading_is_bounded() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let router = open_router();
    let before = router.rss_kib();
    let mut stream = tokio::net::TcpStream::connect(router.addr()).await.unwrap();
    let head = upgrade_head(
        router.addr(),
        "/ws",
        &["Sec-WebSocket-Protocol: wamp.2.json"],
    );
    stream
        .write_all(format!("{head}\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = [0u8; 1024];
    let n = stream.read(&mut response).await.unwrap();
    assert!(response[..n].starts_with(b"HTTP/1.1 101"), "no upgrade");
    // Never read again: every pong the router owes stays with it. 3 s of pings (on main the
    // router grew by ~300 MiB a second).
    let burst: Vec<u8> = std::iter::repeat_n(ping_frame(), 512).flatten().collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut sent = 0usize;
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(500), stream.write_all(&burst)).await {
            Ok(Ok(())) => sent += burst.len(),
            Ok(Err(_)) => break, // closed by the router: what a bound may do
            Err(_) => {}         // the router stopped reading: backpressure, also fine
        }
    }
    let grown = router.rss_kib().saturating_sub(before);
    assert!(
        grown < 32 * 1024,
        "the router grew by {grown} KiB under a ping flood of {sent} bytes"
    );
}

#[tokio::test]
async fn slow_consumer_is_bounded_in_bytes() {
    let router = open_router();
    let (mut slow, _) = router.joined("realm1").await;
    slow.subscribe("com.big.topic", json!({})).await;
    let (mut reader, _) = router.joined("realm1").await;
    reader.subscribe("com.big.topic", json!({})).await;
    // From now on `slow` is never read; `reader` reads every event.
    let (mut publisher, _) = router.joined("realm1").await;
    let payload = "e".repeat(1_000_000);
    let before = router.rss_kib();
    for i in 0..100u64 {
        let (reply, _) = publisher
            .publish_ack("com.big.topic", json!({}), json!([payload, i]))
            .await;
        assert_eq!(reply[0], 17, "{reply}");
        let event = reader.recv().await;
        assert_eq!(event[0], 36, "{event}");
        assert_eq!(
            event[4][1],
            json!(i),
            "the reading subscriber missed an event"
        );
    }
    assert!(
        router
            .wait_for_log("slow consumer", Duration::from_secs(3))
            .await,
        "the subscriber that never reads was not dropped after 100 MiB of events; log:\n{}",
        router.log()
    );
    let log = router.log();
    let line = log.lines().find(|l| l.contains("slow consumer")).unwrap();
    assert!(
        line.contains("bytes"),
        "the reason names no byte bound: {line}"
    );
    let grown = router.rss_kib().saturating_sub(before);
    assert!(grown < 80 * 1024, "the router grew by {grown} KiB");
    drop(slow);
}
