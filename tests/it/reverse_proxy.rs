//! `reverseproxy` and `websocket-reverseproxy` paths against an in-process router and real
//! backends started here: the poller tests' recording HTTP server, a socket that never answers,
//! a closed port, a tokio-tungstenite echo server and a second Junction serving WAMP.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::common;
use crate::upstream::{Reply, Upstream};
use common::bridge::*;
use common::in_process::InProcess;
use common::*;

fn router(transports: Vec<Value>) -> InProcess {
    InProcess::start(&common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("anonymous")]})],
        transports,
    ))
}

fn proxy_to(port: u16, extra: Value) -> Value {
    let mut path = json!({"type": "reverseproxy", "host": "127.0.0.1", "port": port});
    for (k, v) in extra.as_object().unwrap() {
        path[k] = v.clone();
    }
    path
}

/// A port nothing listens on (bound, then let go).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn requests_reach_the_backend_and_answers_come_back() {
    let backend = Upstream::start().await;
    backend
        .route(
            "/base/items",
            vec![
                Reply::json(&json!({"items": [1, 2]}))
                    .header("X-Backend", "yes")
                    .header("Connection", "X-Hop")
                    .header("X-Hop", "hop-secret"),
            ],
        )
        .route("/base", vec![Reply::text(200, "base")])
        .route("/base/upload", vec![Reply::text(201, "stored")])
        .route("/elsewhere", vec![Reply::text(200, "root")]);
    let port: u16 = backend
        .authority()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let paths = json!({
        "api": proxy_to(port, json!({"path": "/base/"})),
        "/": proxy_to(port, json!({})),
        "ws": {"type": "websocket"}
    });
    let proxied = web(paths.clone(), Value::Null);
    let behind_proxy = web(paths, json!({"trusted_proxies": ["127.0.0.1"]}));
    let router = router(vec![proxied, behind_proxy]);
    let (addr, trusting) = (router.addrs[0], router.addrs[1]);

    // Path below the prefix and query (still encoded) go to the backend's path.
    let res = request(addr, "GET", "/api/items?q=1&r=a%20b", &[], b"").await;
    assert_eq!(res.status, 200, "{:?}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json(), json!({"items": [1, 2]}));
    assert_eq!(res.header("x-backend"), Some("yes"));
    assert_eq!(
        res.header("x-hop"),
        None,
        "hop-by-hop headers of the answer go"
    );
    let seen = backend.seen_at("/base/items");
    assert_eq!(seen[0].uri, "/base/items?q=1&r=a%20b");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].header("host"), Some(backend.authority().as_str()));
    assert_eq!(request(addr, "GET", "/api", &[], b"").await.body, b"base");
    assert_eq!(
        request(addr, "GET", "/elsewhere", &[], b"").await.body,
        b"root"
    );
    assert_eq!(
        request(addr, "GET", "/apix", &[], b"").await.status,
        418,
        "/apix is not below /api: the root proxy takes it"
    );
    assert_eq!(backend.uris_at("/apix"), ["/apix"]);
    // Dot segments would take the request outside the backend path: refused here.
    for sneaky in ["/api/../admin", "/api/%2E%2e/admin", "/api/./items"] {
        let res = request(addr, "GET", sneaky, &[], b"").await;
        assert_http_error(&res, 400);
    }
    assert!(backend.seen_at("/admin").is_empty() && backend.seen_at("/base/../admin").is_empty());

    // Method, headers and body; hop-by-hop headers (and those Connection names) stay here.
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let headers = [
        "Content-Type: application/octet-stream",
        "Connection: X-Foo",
        "X-Foo: connection-secret",
        "Keep-Alive: timeout=5",
        "Proxy-Authorization: Basic cHJveHk6c2VjcmV0",
        "X-Kept: yes",
        "X-Forwarded-For: 6.6.6.6",
    ];
    let res = request(addr, "POST", "/api/upload", &headers, &body).await;
    assert_eq!((res.status, res.body.as_slice()), (201, &b"stored"[..]));
    let seen = backend.seen_at("/base/upload");
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].body.as_ref(), body.as_slice());
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(seen[0].header("x-kept"), Some("yes"));
    for gone in ["x-foo", "keep-alive", "proxy-authorization"] {
        assert_eq!(seen[0].header(gone), None, "{gone} reached the backend");
    }
    assert!(
        seen[0].headers.get_all("connection").iter().all(|v| !v
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("x-foo")),
        "{:?}",
        seen[0].headers
    );
    // The client's own X-Forwarded-For is not believed: the chain starts with its address.
    assert_eq!(seen[0].header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(seen[0].header("x-real-ip"), Some("127.0.0.1"));
    assert_eq!(seen[0].header("x-forwarded-proto"), Some("http"));
    assert_eq!(
        seen[0].header("x-forwarded-host"),
        Some(addr.to_string().as_str())
    );
    assert_eq!(
        seen[0].header("x-forwarded-port"),
        Some(addr.port().to_string().as_str())
    );

    // A chunked body streams through too.
    let mut conn = bridge::Conn::open(addr).await;
    let res = conn
        .try_request_chunked("PUT", "/api/upload", &[], &body, 4096)
        .await
        .unwrap();
    assert_eq!(res.status, 201);
    let seen = backend.seen_at("/base/upload");
    assert_eq!(seen[1].method, "PUT");
    assert_eq!(seen[1].body.as_ref(), body.as_slice());

    // Behind a trusted proxy, its chain is kept and the peer appended.
    let res = request(
        trusting,
        "GET",
        "/api/items",
        &["X-Forwarded-For: 192.0.2.7", "X-Forwarded-Proto: https"],
        b"",
    )
    .await;
    assert_eq!(res.status, 200);
    let seen = backend.seen_at("/base/items");
    let last = seen.last().unwrap();
    assert_eq!(last.header("x-forwarded-for"), Some("192.0.2.7, 127.0.0.1"));
    assert_eq!(last.header("x-real-ip"), Some("192.0.2.7"));
    assert_eq!(last.header("x-forwarded-proto"), Some("https"));
}

#[tokio::test]
async fn a_backend_down_or_slow_is_a_json_error() {
    let down = closed_port().await;
    // Accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    // A listener whose accept queue is full and never drained: Linux drops further SYNs, so a
    // connection to it is neither accepted nor refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let full = socket.listen(0).unwrap();
    let stuck = full.local_addr().unwrap();
    let mut queued = Vec::new();
    for _ in 0..4 {
        let connect = tokio::net::TcpStream::connect(stuck);
        if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(200), connect).await {
            queued.push(stream);
        }
    }
    let router = router(vec![web(
        json!({
            "down": proxy_to(down, json!({})),
            "slow": proxy_to(slow, json!({"options": {"response_timeout": 300}})),
            "stuck": proxy_to(stuck.port(), json!({"options": {"connect_timeout": 300}}))
        }),
        Value::Null,
    )]);
    let addr = router.addrs[0];

    let started = Instant::now();
    let res = request(addr, "GET", "/stuck", &[], b"").await;
    let error = assert_http_error(&res, 504);
    assert_eq!(
        error,
        format!("backend {stuck} did not accept a connection within connect_timeout (300 ms)")
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    drop((full, queued));

    let res = request(addr, "GET", "/down/secret-path?token=abc", &[], b"").await;
    let error = assert_http_error(&res, 502);
    assert!(
        error.starts_with(&format!("backend 127.0.0.1:{down} is not reachable")),
        "{error}"
    );
    let text = String::from_utf8_lossy(&res.body);
    assert!(
        !text.contains("secret-path") && !text.contains("abc"),
        "{text}"
    );

    let started = Instant::now();
    let res = request(addr, "POST", "/slow/x", &[], b"{}").await;
    let error = assert_http_error(&res, 504);
    assert_eq!(
        error,
        format!("backend 127.0.0.1:{slow} did not answer within response_timeout (300 ms)")
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// What the WebSocket echo backend saw of one connection.
#[derive(Debug)]
enum Seen {
    Handshake {
        path: String,
        forwarded_for: Option<String>,
    },
    Closed(Option<CloseFrame>),
}

/// A WebSocket server that picks the last subprotocol offered, echoes text and binary,
/// answers `"close please"` with a close 4001 "later", and reports what it saw.
// tungstenite's handshake callback returns its own large error type.
#[allow(clippy::result_large_err)]
async fn echo_backend() -> (u16, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let report = tx.clone();
                let pick = move |req: &Request, mut res: Response| {
                    let header = |name| {
                        req.headers()
                            .get(name)
                            .map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
                    };
                    let _ = report.send(Seen::Handshake {
                        path: req.uri().to_string(),
                        forwarded_for: header("x-forwarded-for"),
                    });
                    if let Some(offer) = header("sec-websocket-protocol") {
                        let last = offer.split(',').next_back().unwrap().trim().to_owned();
                        res.headers_mut()
                            .insert("sec-websocket-protocol", last.parse().unwrap());
                    }
                    Ok(res)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, pick).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    match message {
                        Message::Text(text) if text.as_str() == "close please" => {
                            let frame = CloseFrame {
                                code: CloseCode::Library(4001),
                                reason: "later".into(),
                            };
                            let _ = ws.close(Some(frame)).await;
                        }
                        Message::Text(_) | Message::Binary(_) => {
                            let _ = ws.send(message).await;
                        }
                        Message::Close(frame) => {
                            let _ = tx.send(Seen::Closed(frame));
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    (port, rx)
}

fn ws_proxy_to(port: u16, url_path: &str) -> Value {
    json!({"type": "websocket-reverseproxy",
           "options": {"max_message_size": 65536},
           "backend": {"type": "websocket",
                       "endpoint": {"type": "tcp", "host": "127.0.0.1", "port": port},
                       "url": format!("ws://127.0.0.1:{port}{url_path}")}})
}

async fn next_message(ws: &mut Ws) -> Message {
    tokio::time::timeout(RECV_TIMEOUT, ws.next())
        .await
        .expect("no message within the timeout")
        .expect("the stream ended")
        .expect("a message")
}

/// The next message that is not a pong.
async fn next_data(ws: &mut Ws) -> Message {
    loop {
        match next_message(ws).await {
            Message::Pong(_) => continue,
            other => return other,
        }
    }
}

async fn next_seen(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(RECV_TIMEOUT, rx.recv())
        .await
        .expect("the backend saw nothing")
        .unwrap()
}

#[tokio::test]
async fn websocket_messages_and_closes_go_both_ways() {
    let (port, mut seen) = echo_backend().await;
    let router = router(vec![web(
        json!({"relay": ws_proxy_to(port, "/echo?room=1")}),
        Value::Null,
    )]);
    let url = format!("ws://{}/relay/below", router.addrs[0]);

    let (mut ws, response) = ws_connect(&url, &["wamp.2.json", "wamp.2.msgpack"], None)
        .await
        .expect("upgrade through the proxy");
    assert_eq!(
        response.headers().get("sec-websocket-protocol").unwrap(),
        "wamp.2.msgpack",
        "the backend's choice"
    );
    match next_seen(&mut seen).await {
        Seen::Handshake {
            path,
            forwarded_for,
        } => {
            assert_eq!(path, "/echo?room=1");
            assert_eq!(forwarded_for.as_deref(), Some("127.0.0.1"));
        }
        other => panic!("{other:?}"),
    }
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(next_data(&mut ws).await, Message::text("hello"));
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    assert_eq!(
        next_data(&mut ws).await,
        Message::binary(vec![0u8, 1, 2, 255])
    );
    ws.send(Message::Ping("are you there".into()))
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut ws).await,
        Message::Pong("are you there".into())
    );
    // The client closes: the backend gets its code and reason.
    let bye = CloseFrame {
        code: CloseCode::Library(4000),
        reason: "bye".into(),
    };
    ws.close(Some(bye.clone())).await.unwrap();
    match next_seen(&mut seen).await {
        Seen::Closed(frame) => assert_eq!(frame, Some(bye)),
        other => panic!("{other:?}"),
    }

    // The backend closes: the client gets its code and reason. No subprotocol offered, none
    // chosen.
    let (mut ws, response) = ws_connect(&url, &[], None).await.unwrap();
    assert_eq!(response.headers().get("sec-websocket-protocol"), None);
    ws.send(Message::text("close please")).await.unwrap();
    match next_data(&mut ws).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Library(4001));
            assert_eq!(frame.reason.as_str(), "later");
        }
        other => panic!("{other:?}"),
    }

    // A message over the client side's max_message_size closes the relay with 1009.
    let (mut ws, _) = ws_connect(&url, &[], None).await.unwrap();
    ws.send(Message::binary(vec![7u8; 100_000])).await.unwrap();
    match next_data(&mut ws).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Size),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_websocket_backend_down_is_a_502_before_the_upgrade() {
    let down = closed_port().await;
    let down_router = router(vec![web(
        json!({"relay": ws_proxy_to(down, "/")}),
        Value::Null,
    )]);
    let url = format!("ws://{}/relay", down_router.addrs[0]);
    match ws_connect(&url, &["wamp.2.json"], None).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 502);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            let error = body["error"].as_str().unwrap();
            assert!(
                error.starts_with(&format!(
                    "WebSocket backend 127.0.0.1:{down} is not reachable"
                )),
                "{error}"
            );
        }
        other => panic!("expected a 502, got {other:?}"),
    }
    // A plain GET is no upgrade.
    let res = request(down_router.addrs[0], "GET", "/relay", &[], b"").await;
    assert_eq!(res.status, 426);

    // A backend that takes the connection and never answers the handshake: 504 after the
    // endpoint's timeout.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let mut path = ws_proxy_to(port, "/");
    path["backend"]["endpoint"]["timeout"] = json!(1);
    let silent_router = router(vec![web(json!({"relay": path}), Value::Null)]);
    let url = format!("ws://{}/relay", silent_router.addrs[0]);
    match ws_connect(&url, &[], None).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 504);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(
                body["error"],
                format!(
                    "WebSocket backend 127.0.0.1:{port} gave no WebSocket within the endpoint's timeout (1 s)"
                )
            );
        }
        other => panic!("expected a 504, got {other:?}"),
    }
}

#[tokio::test]
async fn wamp_goes_through_to_a_junction_behind() {
    let backend = router(vec![web(json!({"ws": {"type": "websocket"}}), Value::Null)]);
    let backend_addr: SocketAddr = backend.addrs[0];
    let front = router(vec![web(
        json!({"wamp": ws_proxy_to(backend_addr.port(), "/ws")}),
        Value::Null,
    )]);
    let mut client = Client::connect(
        &format!("ws://{}/wamp", front.addrs[0]),
        &["wamp.2.msgpack"],
        None,
    )
    .await
    .unwrap();
    assert_eq!(client.protocol.as_deref(), Some("wamp.2.msgpack"));
    let welcome = calls::hello_with(&mut client, "realm1", json!({})).await;
    assert_eq!(welcome[0], 2, "WELCOME through the proxy: {welcome}");
    let published = client.next_id();
    client
        .send(json!([16, published, {"acknowledge": true}, "com.example.x", [1]]))
        .await;
    assert_eq!(client.recv().await[0], 17, "PUBLISHED");
}

/// Reads from `stream` into `seen` until it holds `needle`.
async fn read_until(stream: &mut tokio::net::TcpStream, seen: &mut Vec<u8>, needle: &str) {
    use tokio::io::AsyncReadExt;
    let found = |seen: &[u8]| String::from_utf8_lossy(seen).contains(needle);
    tokio::time::timeout(RECV_TIMEOUT, async {
        while !found(seen) {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "closed before {needle:?}: {:?}",
                String::from_utf8_lossy(seen)
            );
            seen.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} within the timeout"));
}

/// Neither body is held back until it is whole: the backend sees the start of the request
/// body while the client is still sending it, and the client the start of the answer while
/// the backend is still writing it.
#[tokio::test]
async fn bodies_stream_through_both_ways() {
    use tokio::io::AsyncWriteExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (saw_start, mut backend_saw_start) = mpsc::unbounded_channel();
    let (finish, mut finish_answer) = mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        read_until(&mut stream, &mut seen, "first-part").await;
        saw_start.send(()).unwrap();
        read_until(&mut stream, &mut seen, "0\r\n\r\n").await;
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        stream
            .write_all(format!("{head}5\r\nearly\r\n").as_bytes())
            .await
            .unwrap();
        finish_answer.recv().await;
        stream.write_all(b"4\r\nlate\r\n0\r\n\r\n").await.unwrap();
        let _ = finish_answer.recv().await;
    });
    let router = router(vec![web(
        json!({"stream": proxy_to(port, json!({}))}),
        Value::Null,
    )]);

    let mut client = tokio::net::TcpStream::connect(router.addrs[0])
        .await
        .unwrap();
    let head = "POST /stream/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    client
        .write_all(format!("{head}a\r\nfirst-part\r\n").as_bytes())
        .await
        .unwrap();
    tokio::time::timeout(RECV_TIMEOUT, backend_saw_start.recv())
        .await
        .expect("the backend did not see the start of the body before its end");
    client.write_all(b"0\r\n\r\n").await.unwrap();
    let mut seen = Vec::new();
    read_until(&mut client, &mut seen, "early").await;
    assert!(!String::from_utf8_lossy(&seen).contains("late"));
    finish.send(()).unwrap();
    read_until(&mut client, &mut seen, "late").await;
}
