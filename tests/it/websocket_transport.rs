//! The WebSocket door of the real binary: subprotocol negotiation, HTTP answers on WebSocket
//! paths, allowed origins, the testee, message size limits, auto-ping, slow consumers, batched
//! framing (JSON, MessagePack, CBOR) and the bytes convention between JSON and MessagePack
//! sessions.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

/// The brief's reference config: origins restricted, auto-ping every 300 ms.
fn origin_config() -> Value {
    config(
        vec![open_realm("realm1", "loose")],
        vec![web_transport(json!({
            "max_message_size": 65536,
            "allowed_origins": ["http://good.example"],
            "allow_null_origin": true
        }))],
    )
}

#[tokio::test]
async fn subprotocol_negotiation_picks_the_first_served_offer() {
    let router = Router::start(&default_config());
    let offer = ["wamp.2.cbor", "wamp.2.msgpack.batched", "wamp.2.json"];
    let (_ws, response) = ws_connect(&router.url("/ws"), &offer, None)
        .await
        .expect("upgrade accepted");
    assert_eq!(response.status(), 101);
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap()),
        Some("wamp.2.msgpack.batched")
    );

    // The negotiated protocol is really spoken: HELLO in batched msgpack gets a WELCOME.
    let mut client = Client::connect(&router.url("/ws"), &offer, None)
        .await
        .unwrap();
    assert_eq!(client.protocol.as_deref(), Some("wamp.2.msgpack.batched"));
    assert_eq!(client.codec, Codec::MsgPack);
    assert!(client.batched);
    client.join("realm1").await;
}

/// A path without `serializers` serves all of them, CBOR included, in both framings; the CBOR
/// session really speaks CBOR (binary frames, batched ones length-prefixed).
#[tokio::test]
async fn cbor_is_served_by_default_in_both_framings() {
    use futures_util::{SinkExt, StreamExt};
    use junction::wamp::message::Message;
    use junction::wamp::serializer::{Serialization, Subprotocol};

    let transport = json!({
        "type": "web",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
        "paths": {"ws": {"type": "websocket"}}
    });
    let router = Router::start(&config(
        vec![open_realm("realm1", "loose")],
        vec![transport],
    ));
    for name in ["wamp.2.cbor.batched", "wamp.2.cbor"] {
        let offer = [name, "wamp.2.json"];
        let (mut ws, response) = ws_connect(&router.url("/ws"), &offer, None)
            .await
            .expect("upgrade accepted");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().unwrap()),
            Some(name)
        );
        let subprotocol = Subprotocol::parse(name).unwrap();
        let hello = Message::Hello {
            realm: "realm1".into(),
            details: serde_json::from_value(json!({"roles": {"subscriber": {}}})).unwrap(),
        };
        let mut frame = bytes::BytesMut::new();
        subprotocol.append(&mut frame, &Serialization::Cbor.encode(&hello), 0);
        ws.send(WsMessage::binary(frame.to_vec())).await.unwrap();
        let reply = tokio::time::timeout(RECV_TIMEOUT, ws.next())
            .await
            .expect("a reply in time")
            .expect("a frame")
            .expect("no error");
        let WsMessage::Binary(data) = reply else {
            panic!("{name}: expected a binary frame, got {reply:?}");
        };
        let messages = subprotocol.split(&data).expect("framing");
        assert_eq!(messages.len(), 1, "{name}: {data:02x?}");
        if subprotocol.batched {
            assert_eq!(&data[..4], ((data.len() - 4) as u32).to_be_bytes());
        }
        let welcome = Serialization::Cbor.decode(messages[0]).expect("CBOR");
        assert!(
            matches!(welcome, Message::Welcome { .. }),
            "{name}: {welcome:?}"
        );
    }
}

#[tokio::test]
async fn subprotocol_not_served_is_refused_with_400_json() {
    let router = Router::start(&default_config());
    let head = upgrade_head(
        router.addr(),
        "/ws",
        &["Sec-WebSocket-Protocol: wamp.2.cbor"],
    );
    let response = raw_http(router.addr(), &head).await;
    assert_eq!(response.status, 400, "{response:?}");
    assert!(
        response
            .header("content-type")
            .unwrap_or("")
            .starts_with("application/json"),
        "{response:?}"
    );
    let body = response.json();
    assert!(body["error"].is_string(), "body needs \"error\": {body}");

    // Through a real client too: the handshake fails with HTTP 400.
    match ws_connect(&router.url("/ws"), &["wamp.2.cbor"], None).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 400),
        Err(e) => panic!("expected HTTP 400, got {e}"),
        Ok(_) => panic!("expected HTTP 400, the upgrade was accepted"),
    }
}

/// Crossbar's `require_websocket_subprotocol` (default true): a client that offers no
/// subprotocol is refused with 400; with `false` it speaks JSON.
#[tokio::test]
async fn no_subprotocol_offered_is_refused_unless_not_required() {
    let router = Router::start(&default_config());
    match ws_connect(&router.url("/ws"), &[], None).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), 400);
            let body =
                String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).to_string();
            assert!(body.contains("wamp.2.json"), "names what to offer: {body}");
        }
        Err(e) => panic!("expected HTTP 400, got {e}"),
        Ok(_) => panic!("expected HTTP 400, the upgrade was accepted"),
    }

    let lenient = config(
        vec![open_realm("realm1", "loose")],
        vec![web_transport(
            json!({"require_websocket_subprotocol": false}),
        )],
    );
    let router = Router::start(&lenient);
    let mut client = Client::connect(&router.url("/ws"), &[], None)
        .await
        .expect("upgrade accepted");
    assert_eq!(
        client.protocol, None,
        "no subprotocol header when none offered"
    );
    client
        .send_frame(WsMessage::text(
            r#"[1,"realm1",{"roles":{"subscriber":{}}}]"#,
        ))
        .await;
    match client.recv_frame().await {
        Some(Ok(WsMessage::Text(text))) => {
            let welcome: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(welcome[0], 2, "{welcome}");
        }
        other => panic!("expected a JSON text WELCOME, got {other:?}"),
    }
}

/// Crossbar's `compression` (permessage-deflate) is accepted, and no extension is negotiated
/// (RFC 7692 lets a server decline): the client gets an uncompressed session.
#[tokio::test]
async fn compression_is_accepted_and_declined() {
    let deflate = config(
        vec![open_realm("realm1", "loose")],
        vec![web_transport(
            json!({"compression": {"deflate": {"request_no_context_takeover": false}}}),
        )],
    );
    let router = Router::start(&deflate);
    let mut request = ws_request(&router.url("/ws"), &["wamp.2.json"], None);
    request.headers_mut().insert(
        "Sec-WebSocket-Extensions",
        "permessage-deflate; client_max_window_bits"
            .parse()
            .unwrap(),
    );
    let (ws, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgrade accepted");
    assert_eq!(response.status(), 101);
    assert_eq!(
        response.headers().get("sec-websocket-extensions"),
        None,
        "no extension negotiated"
    );
    let mut client = Client::from_ws(ws, &response);
    client
        .send_frame(WsMessage::text(
            r#"[1,"realm1",{"roles":{"subscriber":{}}}]"#,
        ))
        .await;
    assert!(matches!(
        client.recv_frame().await,
        Some(Ok(WsMessage::Text(_)))
    ));
}

/// A plain GET on a WebSocket path shows a small status page (Crossbar's `enable_webstatus`,
/// default true); with `enable_webstatus: false` it is a 426 JSON error. Unknown paths: 404.
#[tokio::test]
async fn plain_get_on_websocket_path_is_a_status_page_or_426_and_unknown_path_404() {
    let router = Router::start(&default_config());
    let addr = router.addr();

    let response = raw_http(
        addr,
        &format!("GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: close"),
    )
    .await;
    assert_eq!(response.status, 200, "{response:?}");
    let page = String::from_utf8_lossy(&response.body).to_string();
    assert!(
        page.contains("WAMP") && page.contains("wamp.2.json"),
        "{page}"
    );
    let no_status = config(
        vec![open_realm("realm1", "loose")],
        vec![web_transport(json!({"enable_webstatus": false}))],
    );
    let quiet = Router::start(&no_status);
    let response = raw_http(
        quiet.addr(),
        &format!("GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: close"),
    )
    .await;
    assert_eq!(response.status, 426, "{response:?}");
    assert!(response.json()["error"].is_string(), "{response:?}");

    let response = raw_http(
        addr,
        &format!("GET /nope HTTP/1.1\r\nHost: {addr}\r\nConnection: close"),
    )
    .await;
    assert_eq!(response.status, 404, "{response:?}");
    assert!(response.json()["error"].is_string(), "{response:?}");

    // An upgrade on an unknown path is a 404 too, not an upgrade.
    let response = raw_http(addr, &upgrade_head(addr, "/nope", &[])).await;
    assert_eq!(response.status, 404, "{response:?}");
}

#[tokio::test]
async fn allowed_origins() {
    let router = Router::start(&origin_config());
    let addr = router.addr();

    let evil = raw_http(
        addr,
        &upgrade_head(addr, "/ws", &["Origin: http://evil.example"]),
    )
    .await;
    assert_eq!(evil.status, 403, "{evil:?}");
    assert!(evil.json()["error"].is_string(), "{evil:?}");
    match ws_connect(
        &router.url("/ws"),
        &["wamp.2.json"],
        Some("http://evil.example"),
    )
    .await
    {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        Err(e) => panic!("expected HTTP 403, got {e}"),
        Ok(_) => panic!("expected HTTP 403, the upgrade was accepted"),
    }

    let (_ws, good) = ws_connect(
        &router.url("/ws"),
        &["wamp.2.json"],
        Some("http://good.example"),
    )
    .await
    .expect("good origin accepted");
    assert_eq!(good.status(), 101);

    // No Origin at all: allowed by allow_null_origin.
    let (_ws, none) = ws_connect(&router.url("/ws"), &["wamp.2.json"], None)
        .await
        .expect("missing origin accepted");
    assert_eq!(none.status(), 101);
}

#[tokio::test]
async fn testee_echoes_text_and_binary() {
    let router = Router::start(&default_config());
    let mut client = Client::connect(&router.url("/echo"), &[], None)
        .await
        .expect("testee upgrade");
    client.send_frame(WsMessage::text("hello, testee")).await;
    match client.recv_frame().await {
        Some(Ok(WsMessage::Text(t))) => assert_eq!(t.as_str(), "hello, testee"),
        other => panic!("expected the text echoed, got {other:?}"),
    }
    let payload: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    client.send_frame(WsMessage::binary(payload.clone())).await;
    match client.recv_frame().await {
        Some(Ok(WsMessage::Binary(b))) => assert_eq!(&b[..], &payload[..]),
        other => panic!("expected the binary echoed, got {other:?}"),
    }
}

/// RFC 6455 section 7.4.1: a text frame that is not UTF-8 closes with 1007 (issue 12, item 8;
/// it closed with 1000 and no reason).
#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let router = Router::start(&default_config());
    let (mut client, _) = router.joined("realm1").await;
    let invalid = vec![b'[', b'"', 0xff, 0xfe, b'"', b']'];
    let frame = Frame::message(invalid, OpCode::Data(Data::Text), true);
    client.send_frame(WsMessage::Frame(frame)).await;
    let closed = client.expect_close().await;
    let frame = closed.frame.expect("a close frame with a code");
    assert_eq!(u16::from(frame.code), 1007, "{frame:?}");
    assert!(frame.reason.contains("UTF-8"), "{frame:?}");
}

#[tokio::test]
async fn oversized_message_closes_with_1009() {
    let router = Router::start(&default_config());
    let (mut client, _) = router.joined("realm1").await;
    let big = "x".repeat(100 * 1024);
    client
        .send(json!([16, 1, {}, "com.example.big", [big]]))
        .await;
    let closed = client.expect_close().await;
    assert!(closed.messages.is_empty(), "{:?}", closed.messages);
    let frame = closed
        .frame
        .expect("the router must send a close frame with a reason");
    assert_eq!(
        frame.code,
        CloseCode::Size,
        "close code must be 1009: {frame:?}"
    );
    assert_eq!(u16::from(frame.code), 1009);
    assert!(
        frame.reason.contains("65536"),
        "the close reason should name the limit: {:?}",
        frame.reason
    );
    assert!(
        router
            .wait_for_log("message too big", Duration::from_secs(2))
            .await
    );
}

/// A session registers "com.dead.proc" and then is never polled (so it answers no ping);
/// another session polls REGISTER for the same procedure. Returns the router and how long the
/// procedure stayed taken.
async fn silent_callee_scenario() -> (Router, Duration) {
    let config = config(
        vec![open_realm("realm1", "loose")],
        vec![web_transport(json!({
            "auto_ping_interval": 300,
            "auto_ping_timeout": 300
        }))],
    );
    let router = Router::start(&config);
    let (mut dead, _) = router.joined("realm1").await;
    dead.register("com.dead.proc", json!({})).await;
    // From now on `dead` is never polled, so it never answers a ping.
    let started = Instant::now();

    let (mut other, _) = router.joined("realm1").await;
    let first = other.try_register("com.dead.proc", json!({})).await;
    assert_error(
        &first,
        64,
        first[2].as_u64().unwrap(),
        "wamp.error.procedure_already_exists",
    );

    assert!(
        register_eventually(&mut other, "com.dead.proc", Duration::from_secs(3)).await,
        "com.dead.proc still registered {:?} after the callee went silent; log:\n{}",
        started.elapsed(),
        router.log()
    );
    let elapsed = started.elapsed();
    // The session that kept reading (and so answered pings) is still there.
    let id = other.next_id();
    let reply = other.request(json!([66, id, 1])).await;
    assert_error(&reply, 66, id, "wamp.error.no_such_registration");
    drop(dead);
    (router, elapsed)
}

#[tokio::test]
async fn auto_ping_drops_a_silent_peer_and_frees_its_registrations() {
    let (_router, elapsed) = silent_callee_scenario().await;
    assert!(
        elapsed < Duration::from_secs(2),
        "a silent peer should be dropped within ~1 s (interval 300 + timeout 300), took {elapsed:?}"
    );
}

/// Principle 5 ("nothing lost silently"): dropping a dead peer is logged with its reason, as
/// the slow-consumer close is.
#[tokio::test]
async fn auto_ping_drop_is_logged_with_its_reason() {
    let (router, _) = silent_callee_scenario().await;
    assert!(
        router
            .wait_for_log("auto-ping: no pong within 300 ms", Duration::from_secs(1))
            .await,
        "the auto-ping close reason was not logged; log:\n{}",
        router.log()
    );
}

#[tokio::test]
async fn slow_consumer_is_disconnected() {
    let config = config(
        vec![open_realm("realm1", "loose")],
        vec![web_transport(json!({
            "max_message_size": 65536,
            "max_outbound_queue": 8
        }))],
    );
    let router = Router::start(&config);
    let (mut slow, _) = router.joined("realm1").await;
    slow.subscribe("com.slow.topic", json!({})).await;
    slow.register("com.slow.proc", json!({})).await;
    // From now on `slow` is never polled.

    let (mut publisher, _) = router.joined("realm1").await;
    let payload = "e".repeat(32 * 1024);
    let mut sent = 0;
    while sent < 2000 {
        for _ in 0..50 {
            sent += 1;
            publisher
                .send(json!([16, sent, {}, "com.slow.topic", [payload]]))
                .await;
        }
        if router.log().contains("slow consumer") {
            break;
        }
    }
    assert!(
        router
            .wait_for_log("slow consumer", Duration::from_secs(3))
            .await,
        "no \"slow consumer\" in the log after {sent} events; log:\n{}",
        router.log()
    );

    let (mut other, _) = router.joined("realm1").await;
    assert!(
        register_eventually(&mut other, "com.slow.proc", Duration::from_secs(3)).await,
        "the slow consumer's registration was not freed"
    );
    // The publisher was not affected.
    let (reply, _) = publisher
        .publish_ack("com.slow.topic", json!({}), json!([]))
        .await;
    assert_eq!(reply[0], 17, "{reply}");
    drop(slow);
}

/// HELLO, then one frame with SUBSCRIBE + PUBLISH(acknowledge, exclude_me=false); returns the
/// three replies in arrival order, checking the framing of every frame received.
async fn batched_round_trip(protocol: &str) -> Vec<Value> {
    let router = Router::start(&default_config());
    let mut client = Client::connect(&router.url("/ws"), &[protocol], None)
        .await
        .expect("upgrade");
    assert_eq!(client.protocol.as_deref(), Some(protocol));
    assert!(client.batched);
    client.join("realm1").await;

    let subscribe = json!([32, 1, {}, "com.batch.topic"]);
    let publish =
        json!([16, 2, {"acknowledge": true, "exclude_me": false}, "com.batch.topic", ["b"]]);
    let frame = match client.codec {
        Codec::Json => WsMessage::text(format!("{subscribe}\u{1e}{publish}\u{1e}")),
        Codec::MsgPack => {
            let mut frame = Vec::new();
            for msg in [&subscribe, &publish] {
                let body = msgpack_encode(msg);
                frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
                frame.extend_from_slice(&body);
            }
            WsMessage::binary(frame)
        }
    };
    client.send_frame(frame).await;
    let mut replies = Vec::new();
    while replies.len() < 3 {
        match client.recv_frame().await {
            Some(Ok(frame @ (WsMessage::Text(_) | WsMessage::Binary(_)))) => {
                // decode_frame asserts the 0x1E terminators / exact length prefixes.
                replies.extend(client.decode_frame(&frame));
            }
            other => panic!("expected a data frame, got {other:?} after {replies:?}"),
        }
    }
    assert_eq!(replies.len(), 3, "{replies:?}");
    replies
}

fn check_batched_replies(replies: &[Value]) {
    let find = |code: u64| {
        replies
            .iter()
            .position(|m| m[0] == code)
            .unwrap_or_else(|| panic!("no message {code} in {replies:?}"))
    };
    let (subscribed, event, published) = (find(33), find(36), find(17));
    assert!(
        subscribed < event,
        "SUBSCRIBED must precede the EVENT: {replies:?}"
    );
    assert_eq!(replies[subscribed][1], 1);
    assert_eq!(replies[published][1], 2);
    assert_eq!(
        replies[event][1], replies[subscribed][2],
        "EVENT subscription id"
    );
    assert_eq!(
        replies[event][2], replies[published][2],
        "EVENT publication id"
    );
    assert_eq!(replies[event][4], json!(["b"]));
}

#[tokio::test]
async fn batched_json_framing() {
    check_batched_replies(&batched_round_trip("wamp.2.json.batched").await);
}

#[tokio::test]
async fn batched_msgpack_framing() {
    check_batched_replies(&batched_round_trip("wamp.2.msgpack.batched").await);
}

#[tokio::test]
async fn bytes_convention_between_json_and_msgpack() {
    let router = Router::start(&default_config());
    let mut json_sub = router.json().await;
    json_sub.join("realm1").await;
    let mut mp_sub = router.msgpack().await;
    mp_sub.join("realm1").await;
    let json_subscription = json_sub.subscribe("com.bytes.to_json", json!({})).await;
    let mp_subscription = mp_sub.subscribe("com.bytes.to_msgpack", json!({})).await;

    // msgpack bin -> JSON "\u0000" + base64.
    let mut mp_pub = router.msgpack().await;
    mp_pub.join("realm1").await;
    let (reply, _) = mp_pub
        .publish_ack(
            "com.bytes.to_json",
            json!({}),
            json!([bin(&[0, 1, 2]), {"nested": bin(b"hi")}]),
        )
        .await;
    assert_eq!(reply[0], 17, "{reply}");
    let event = json_sub.recv().await;
    assert_eq!(event[0], 36, "{event}");
    assert_eq!(event[1], json_subscription);
    assert_eq!(
        event[4],
        json!(["\u{0}AAEC", {"nested": "\u{0}aGk="}]),
        "{event}"
    );

    // JSON "\u0000" + base64 -> msgpack bin, and a plain string stays a str.
    let mut json_pub = router.json().await;
    json_pub.join("realm1").await;
    let (reply, _) = json_pub
        .publish_ack(
            "com.bytes.to_msgpack",
            json!({}),
            json!(["\u{0}AAEC", "plain"]),
        )
        .await;
    assert_eq!(reply[0], 17, "{reply}");
    let event = mp_sub.recv().await;
    assert_eq!(event[0], 36, "{event}");
    assert_eq!(event[1], mp_subscription);
    assert_eq!(event[4], json!([bin(&[0, 1, 2]), "plain"]), "{event}");
}
