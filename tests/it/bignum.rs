//! Integers beyond 64 bits through the real binary, frame by frame: a JSON literal of any
//! length reaches JSON peers exactly, and a message that would carry one to a MessagePack peer
//! is answered with ERROR `wamp.error.invalid_argument` to its sender, whose session goes on.
//! (autobahn-python and autobahn.js cover CBOR bignums: test_bignum.py,
//! autobahn_suite.test.mjs.)

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const BIG: &str = "340282366920938463463374607431768211455";
const SHORT: Duration = Duration::from_millis(200);

/// The next frame's text (a JSON client), so that numbers are seen as written.
async fn recv_text(client: &mut Client) -> String {
    match client.recv_frame().await {
        Some(Ok(WsMessage::Text(text))) => text.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

async fn send_text(client: &mut Client, text: String) {
    client.send_frame(WsMessage::text(text)).await;
}

#[tokio::test]
async fn a_call_carries_a_big_literal_to_json_and_is_refused_for_msgpack() {
    let router = Router::start(&default_config());
    let (mut caller, _) = router.joined("realm1").await;
    let (mut json_callee, _) = router.joined("realm1").await;
    let mut msgpack_callee = router.msgpack().await;
    msgpack_callee.join("realm1").await;
    json_callee.register("com.big.json", json!({})).await;
    msgpack_callee.register("com.big.msgpack", json!({})).await;

    send_text(
        &mut caller,
        format!(r#"[48, 1, {{}}, "com.big.json", [{BIG}, -{BIG}]]"#),
    )
    .await;
    let invocation = recv_text(&mut json_callee).await;
    assert!(
        invocation.contains(&format!("[{BIG},-{BIG}]")),
        "{invocation}"
    );

    send_text(
        &mut caller,
        format!(r#"[48, 2, {{}}, "com.big.msgpack", [{BIG}]]"#),
    )
    .await;
    let error = caller.recv().await;
    assert_error(&error, 48, 2, "wamp.error.invalid_argument");
    assert!(
        error[5][0].as_str().unwrap().contains("MessagePack"),
        "{error}"
    );
    msgpack_callee.expect_silence(SHORT).await;

    // Both sessions go on: a 64-bit call reaches the MessagePack callee.
    caller
        .send(json!([
            48,
            3,
            {},
            "com.big.msgpack",
            [18446744073709551615u64]
        ]))
        .await;
    let invocation = msgpack_callee.recv().await;
    assert_eq!(invocation[0], 68, "{invocation}");
    assert_eq!(
        invocation[4],
        json!([18446744073709551615u64]),
        "{invocation}"
    );
}

#[tokio::test]
async fn a_publication_a_msgpack_subscriber_cannot_receive_reaches_nobody() {
    let router = Router::start(&default_config());
    let (mut publisher, _) = router.joined("realm1").await;
    let (mut json_subscriber, _) = router.joined("realm1").await;
    json_subscriber.subscribe("com.big.t", json!({})).await;

    let publish =
        |request: u64| format!(r#"[16, {request}, {{"acknowledge": true}}, "com.big.t", [{BIG}]]"#);
    send_text(&mut publisher, publish(1)).await;
    assert_eq!(publisher.recv().await[0], 17, "PUBLISHED");
    let event = recv_text(&mut json_subscriber).await;
    assert!(event.contains(&format!("[{BIG}]")), "{event}");

    let mut msgpack_subscriber = router.msgpack().await;
    msgpack_subscriber.join("realm1").await;
    msgpack_subscriber.subscribe("com.big.t", json!({})).await;
    send_text(&mut publisher, publish(2)).await;
    let error = publisher.recv().await;
    assert_error(&error, 16, 2, "wamp.error.invalid_argument");
    json_subscriber.expect_silence(SHORT).await;
    msgpack_subscriber.expect_silence(SHORT).await;
}

#[tokio::test]
async fn a_progressive_result_a_msgpack_caller_cannot_receive_ends_the_call() {
    let router = Router::start(&default_config());
    let mut caller = router.msgpack().await;
    caller.join("realm1").await;
    let (mut callee, _) = router.joined("realm1").await;
    callee.register("com.big.progress", json!({})).await;

    caller
        .send(json!([48, 1, {"receive_progress": true}, "com.big.progress", []]))
        .await;
    let invocation = callee.recv().await;
    assert_eq!(invocation[0], 68, "{invocation}");
    let invocation_id = invocation[1].as_u64().unwrap();
    // A progressive result the caller can receive, then one it cannot.
    callee
        .send(json!([70, invocation_id, {"progress": true}, [1]]))
        .await;
    let progress = caller.recv().await;
    assert_eq!(progress[0], 50, "{progress}");
    assert_eq!(progress[2]["progress"], true, "{progress}");
    send_text(
        &mut callee,
        format!(r#"[70, {invocation_id}, {{"progress": true}}, [{BIG}]]"#),
    )
    .await;
    let error = caller.recv().await;
    assert_error(&error, 48, 1, "wamp.error.invalid_argument");
    // The call is over: the callee's final YIELD reaches nobody.
    callee.send(json!([70, invocation_id, {}, [2]])).await;
    caller.expect_silence(SHORT).await;
}
