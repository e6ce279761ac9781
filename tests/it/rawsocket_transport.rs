//! The RawSocket door of the real binary, byte by byte: the handshake (answer per serializer,
//! error 1 for a serializer not served, error 3 for reserved octets), frames (ping -> pong,
//! reserved bits and types, frames over the announced maximum, messages over the client's),
//! HELLO/WELCOME in JSON, MessagePack and CBOR, Unix socket endpoints, `universal` ports
//! (RawSocket, WebSocket and HTTP on one port) and GOODBYE on shutdown.
//!
//! Error codes 2 (maximum length unacceptable) and 4 (connection count) are never sent:
//! Junction has no case for them (see `transport/rawsocket/handshake.rs`).

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::*;
use junction::wamp::message::Message;
use junction::wamp::serializer::Serialization;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A RawSocket client that speaks bytes.
struct Raw {
    stream: Box<dyn Stream>,
}

impl Raw {
    async fn tcp(addr: std::net::SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Raw {
            stream: Box::new(stream),
        }
    }

    async fn unix(path: &Path) -> Raw {
        let stream = UnixStream::connect(path).await.expect("connect unix");
        Raw {
            stream: Box::new(stream),
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Sends `0x7F, second, third, fourth` and returns the router's 4 octets.
    async fn handshake(&mut self, octets: [u8; 3]) -> [u8; 4] {
        self.write(&[0x7F, octets[0], octets[1], octets[2]]).await;
        let mut reply = [0u8; 4];
        tokio::time::timeout(RECV_TIMEOUT, self.stream.read_exact(&mut reply))
            .await
            .expect("handshake answer in time")
            .expect("a 4-octet answer");
        reply
    }

    /// Handshake with a maximum of 16 MiB and serializer `s`; asserts it is accepted.
    async fn open(addr: std::net::SocketAddr, s: u8) -> Raw {
        let mut raw = Raw::tcp(addr).await;
        let reply = raw.handshake([0xF0 | s, 0, 0]).await;
        assert_eq!(reply, [0x7F, 0xB0 | s, 0, 0], "accepted with exponent 11");
        raw
    }

    async fn send_frame(&mut self, kind: u8, payload: &[u8]) {
        let len = payload.len() as u32;
        let mut frame = vec![kind, (len >> 16) as u8, (len >> 8) as u8, len as u8];
        frame.extend_from_slice(payload);
        self.write(&frame).await;
    }

    /// The next frame (type octet, payload); `None` when the router closed the connection.
    async fn recv_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let read = async {
            let mut header = [0u8; 4];
            self.stream.read_exact(&mut header).await.ok()?;
            let len = (header[1] as usize) << 16 | (header[2] as usize) << 8 | header[3] as usize;
            let mut payload = vec![0u8; len];
            self.stream.read_exact(&mut payload).await.ok()?;
            Some((header[0], payload))
        };
        tokio::time::timeout(RECV_TIMEOUT, read)
            .await
            .expect("a frame or the end of the connection in time")
    }

    async fn send_json(&mut self, msg: Value) {
        self.send_frame(0, msg.to_string().as_bytes()).await;
    }

    async fn recv_json(&mut self) -> Value {
        let (kind, payload) = self.recv_frame().await.expect("a frame");
        assert_eq!(kind, 0, "expected a message frame");
        serde_json::from_slice(&payload).expect("JSON")
    }

    /// Reads until the router closes the connection; returns the frames received before.
    async fn expect_closed(&mut self) -> Vec<(u8, Vec<u8>)> {
        let mut frames = Vec::new();
        while let Some(frame) = self.recv_frame().await {
            frames.push(frame);
        }
        frames
    }

    /// Reads until the connection ends and returns every byte received.
    async fn rest(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        tokio::time::timeout(RECV_TIMEOUT, self.stream.read_to_end(&mut all))
            .await
            .expect("the router closes the connection")
            .ok();
        all
    }

    async fn join(&mut self, realm: &str) -> Value {
        self.send_json(json!([1, realm, {"roles": {"subscriber": {}, "publisher": {}}}]))
            .await;
        let welcome = self.recv_json().await;
        assert_eq!(welcome[0], 2, "expected WELCOME, got {welcome}");
        welcome
    }
}

fn rawsocket(fields: Value) -> Value {
    let mut transport = json!({
        "type": "rawsocket",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0}
    });
    if let (Some(t), Some(f)) = (transport.as_object_mut(), fields.as_object()) {
        t.extend(f.clone());
    }
    transport
}

fn start(fields: Value) -> Router {
    Router::start(&config(
        vec![open_realm("realm1", "loose")],
        vec![rawsocket(fields)],
    ))
}

#[tokio::test]
async fn handshake_accepts_every_serializer_with_the_router_maximum() {
    let router = start(json!({}));
    for s in 1..=3 {
        Raw::open(router.addr(), s).await;
    }
    // The announced maximum follows max_message_size (rounded up to a power of two).
    let router = start(json!({"max_message_size": 3000}));
    let mut raw = Raw::tcp(router.addr()).await;
    assert_eq!(raw.handshake([0x01, 0, 0]).await, [0x7F, 0x31, 0, 0]);
}

#[tokio::test]
async fn hello_and_welcome_in_each_serialization() {
    let router = start(json!({}));
    let mut raw = Raw::open(router.addr(), 1).await;
    let welcome = raw.join("realm1").await;
    assert!(welcome[1].as_u64().is_some_and(|id| id > 0 && id <= MAX_ID));
    assert_eq!(welcome[2]["realm"], "realm1");

    for (s, serialization) in [(2, Serialization::MsgPack), (3, Serialization::Cbor)] {
        let mut raw = Raw::open(router.addr(), s).await;
        let hello = Message::Hello {
            realm: "realm1".into(),
            details: serde_json::from_value(json!({"roles": {"caller": {}}})).unwrap(),
        };
        raw.send_frame(0, &serialization.encode(&hello)).await;
        let (kind, payload) = raw.recv_frame().await.expect("WELCOME");
        assert_eq!(kind, 0);
        let welcome = serialization.decode(&payload).expect("decodes");
        assert!(
            matches!(welcome, Message::Welcome { .. }),
            "{serialization:?}: {welcome:?}"
        );
    }
}

#[tokio::test]
async fn error_1_for_a_serializer_not_served() {
    let router = start(json!({"serializers": ["json"]}));
    for s in [2, 3, 0, 4, 5, 15] {
        let mut raw = Raw::tcp(router.addr()).await;
        assert_eq!(raw.handshake([0xF0 | s, 0, 0]).await, [0x7F, 0x10, 0, 0]);
        assert!(raw.rest().await.is_empty(), "closed after the error");
    }
    assert!(
        router
            .wait_for_log("serializer 2 is not served", Duration::from_secs(2))
            .await
    );
    Raw::open(router.addr(), 1).await;
}

#[tokio::test]
async fn error_3_for_reserved_octets() {
    let router = start(json!({}));
    for octets in [[0xF1, 0, 1], [0xF1, 0x80, 0]] {
        let mut raw = Raw::tcp(router.addr()).await;
        assert_eq!(raw.handshake(octets).await, [0x7F, 0x30, 0, 0]);
        assert!(raw.rest().await.is_empty(), "closed after the error");
    }
}

#[tokio::test]
async fn a_first_octet_other_than_0x7f_is_closed_without_an_answer() {
    let router = start(json!({}));
    let mut raw = Raw::tcp(router.addr()).await;
    raw.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(raw.rest().await.is_empty());
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_open_handshake_timeout() {
    let router = start(json!({"options": {"open_handshake_timeout": 200}}));
    let mut raw = Raw::tcp(router.addr()).await;
    let started = std::time::Instant::now();
    assert!(raw.rest().await.is_empty());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn ping_is_answered_with_a_pong_carrying_the_same_payload() {
    let router = start(json!({}));
    let mut raw = Raw::open(router.addr(), 1).await;
    raw.send_frame(1, b"are you there?").await;
    assert_eq!(
        raw.recv_frame().await,
        Some((2, b"are you there?".to_vec()))
    );
    raw.send_frame(1, b"").await;
    assert_eq!(raw.recv_frame().await, Some((2, Vec::new())));
    // Still a working session after the pings, and pongs from the client are accepted.
    raw.send_frame(2, b"unsolicited").await;
    raw.join("realm1").await;
}

#[tokio::test]
async fn reserved_frame_bits_and_types_fail_the_connection() {
    let router = start(json!({}));
    for first in [0x08u8, 0x10, 0x80, 3, 7] {
        let mut raw = Raw::open(router.addr(), 1).await;
        raw.join("realm1").await;
        raw.send_frame(first, b"[]").await;
        assert!(raw.expect_closed().await.is_empty(), "header {first:#04x}");
    }
    assert!(
        router
            .wait_for_log("reserved bits set in frame header octet 0x08", RECV_TIMEOUT)
            .await
    );
    assert!(
        router
            .wait_for_log("reserved frame type 7", RECV_TIMEOUT)
            .await
    );
}

#[tokio::test]
async fn a_frame_longer_than_the_announced_maximum_fails_the_connection() {
    let router = start(json!({"max_message_size": 1024}));
    let mut raw = Raw::tcp(router.addr()).await;
    assert_eq!(raw.handshake([0xF1, 0, 0]).await, [0x7F, 0x11, 0, 0]);
    raw.join("realm1").await;
    // Only the header: the router must not wait for the payload to decide.
    raw.write(&[0, 0, 4, 1]).await;
    assert!(raw.expect_closed().await.is_empty());
    assert!(
        router
            .wait_for_log(
                "frame of 1025 bytes is longer than max_message_size (1024 bytes)",
                RECV_TIMEOUT
            )
            .await
    );
    // 1024 bytes exactly pass (and, being no WAMP message, abort the session).
    let mut raw = Raw::tcp(router.addr()).await;
    assert_eq!(raw.handshake([0xF1, 0, 0]).await, [0x7F, 0x11, 0, 0]);
    raw.send_frame(0, &[b' '; 1024]).await;
    let abort: Value = match raw.recv_frame().await {
        Some((0, payload)) => serde_json::from_slice(&payload).unwrap(),
        other => panic!("expected ABORT, got {other:?}"),
    };
    assert_abort(&abort, "wamp.error.protocol_violation");
}

#[tokio::test]
async fn a_message_longer_than_the_client_accepts_closes_its_session() {
    let router = Router::start(&config(
        vec![open_realm("realm1", "loose")],
        vec![rawsocket(json!({})), web_transport(json!({}))],
    ));
    // The client accepts 2^(9+1) = 1024 bytes.
    let mut raw = Raw::tcp(router.addrs[0]).await;
    assert_eq!(raw.handshake([0x11, 0, 0]).await, [0x7F, 0xB1, 0, 0]);
    raw.join("realm1").await;
    raw.send_json(json!([32, 1, {}, "com.example.big"])).await;
    assert_eq!(raw.recv_json().await[0], 33);

    let url = format!("ws://{}/ws", router.addrs[1]);
    let mut publisher = Client::connect(&url, &["wamp.2.json"], None).await.unwrap();
    publisher.join("realm1").await;
    let (reply, _) = publisher
        .publish_ack("com.example.big", json!({}), json!(["small"]))
        .await;
    assert_eq!(reply[0], 17);
    let event = raw.recv_json().await;
    assert_eq!(
        (event[0].clone(), event[4].clone()),
        (json!(36), json!(["small"]))
    );

    let (reply, _) = publisher
        .publish_ack("com.example.big", json!({}), json!(["x".repeat(2000)]))
        .await;
    assert_eq!(reply[0], 17);
    assert!(
        raw.expect_closed().await.is_empty(),
        "the EVENT is not sent"
    );
    assert!(
        router
            .wait_for_log("error=a message of", RECV_TIMEOUT)
            .await,
        "{}",
        router.log()
    );
    assert!(
        router
            .log()
            .contains("is longer than the client accepts (1024 bytes)")
    );
}

#[tokio::test]
async fn unix_socket_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("junction.sock");
    // A stale socket file from an earlier run is replaced.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    let router = Router::start(&config(
        vec![open_realm("realm1", "loose")],
        vec![json!({"type": "rawsocket", "endpoint": {"type": "unix", "path": socket}})],
    ));
    assert!(
        router
            .log()
            .contains(&format!("listening on unix:{}", socket.display()))
    );
    let mut raw = Raw::unix(&socket).await;
    assert_eq!(raw.handshake([0xF1, 0, 0]).await, [0x7F, 0xB1, 0, 0]);
    raw.join("realm1").await;
    raw.send_frame(1, b"hi").await;
    assert_eq!(raw.recv_frame().await, Some((2, b"hi".to_vec())));
}

#[tokio::test]
async fn a_live_socket_or_another_file_is_not_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "data").unwrap();
    let text = config(
        vec![open_realm("realm1", "loose")],
        vec![json!({"type": "rawsocket", "endpoint": {"type": "unix", "path": file}})],
    )
    .to_string();
    let config_file = dir.path().join("config.json");
    std::fs::write(&config_file, text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_junction"))
        .args(["start", "--config"])
        .arg(&config_file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("a file that is not a socket is in the way"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
}

#[tokio::test]
async fn universal_port_serves_rawsocket_websocket_and_http() {
    let router = Router::start(&config(
        vec![open_realm("realm1", "loose")],
        vec![json!({
            "type": "universal",
            "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
            "rawsocket": {"serializers": ["json"]},
            "websocket": {"ws": {"type": "websocket", "serializers": ["json"]}},
            "web": {"paths": {"push": {"type": "publisher", "realm": "realm1", "role": "anonymous"}}}
        })],
    ));
    let mut raw = Raw::tcp(router.addr()).await;
    assert_eq!(raw.handshake([0xF1, 0, 0]).await, [0x7F, 0xB1, 0, 0]);
    raw.join("realm1").await;
    raw.send_json(json!([32, 1, {}, "com.example.t"])).await;
    assert_eq!(raw.recv_json().await[0], 33);

    let mut ws = router.json().await;
    ws.join("realm1").await;
    ws.publish_ack("com.example.t", json!({}), json!(["from ws"]))
        .await;
    assert_eq!(raw.recv_json().await[4], json!(["from ws"]));

    let body = r#"{"topic": "com.example.t", "args": ["from http"]}"#;
    let head = format!(
        "POST /push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let response = raw_http(router.addr(), &head).await;
    assert_eq!(response.status, 202, "{response:?}");
    assert_eq!(raw.recv_json().await[4], json!(["from http"]));

    let response = raw_http(router.addr(), "GET /nothing HTTP/1.1\r\nHost: x").await;
    assert_eq!(response.status, 404);
}

#[tokio::test]
async fn universal_port_without_rawsocket_closes_0x7f() {
    let router = Router::start(&config(
        vec![open_realm("realm1", "loose")],
        vec![json!({
            "type": "universal",
            "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
            "websocket": {"ws": {}}
        })],
    ));
    let mut raw = Raw::tcp(router.addr()).await;
    raw.write(&[0x7F, 0xF1, 0, 0]).await;
    assert!(raw.rest().await.is_empty());
    router.json().await.join("realm1").await;
}

#[tokio::test]
async fn shutdown_says_goodbye_over_rawsocket() {
    let mut router = start(json!({}));
    let mut raw = Raw::open(router.addr(), 1).await;
    raw.join("realm1").await;
    router.terminate();
    let frames = raw.expect_closed().await;
    let messages: Vec<Value> = frames
        .iter()
        .map(|(_, payload)| serde_json::from_slice(payload).unwrap())
        .collect();
    assert_eq!(
        messages,
        [json!([6, {"message": "the router is shutting down"}, "wamp.close.system_shutdown"])]
    );
    assert!(router.wait_exit(Duration::from_secs(5)).is_some());
}

#[tokio::test]
async fn auto_ping_keeps_a_client_that_answers_and_drops_one_that_does_not() {
    let router = start(json!({"options": {"auto_ping_interval": 150, "auto_ping_timeout": 150}}));
    let mut answering = Raw::open(router.addr(), 1).await;
    answering.join("realm1").await;
    let mut silent = Raw::open(router.addr(), 1).await;
    silent.join("realm1").await;
    for _ in 0..3 {
        let (kind, payload) = answering.recv_frame().await.expect("a ping");
        assert_eq!(
            (kind, payload.len()),
            (1, 4),
            "a ping with auto_ping_size octets"
        );
        answering.send_frame(2, &payload).await;
    }
    let frames = silent.expect_closed().await;
    assert!(
        frames.iter().all(|(kind, _)| *kind == 1),
        "only pings: {frames:?}"
    );
    assert!(
        router
            .wait_for_log("error=auto-ping: no pong within 150 ms", RECV_TIMEOUT)
            .await
    );
    // The answering client is still served.
    answering.send_frame(1, b"x").await;
    loop {
        match answering.recv_frame().await.expect("still open") {
            (2, payload) => break assert_eq!(payload, b"x"),
            (1, payload) => answering.send_frame(2, &payload).await,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}
