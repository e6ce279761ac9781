//! Shared harness for the integration tests: start the real `junction` binary on port 0 with a
//! config written to a temporary file, collect its log, and talk raw WAMP to it over WebSocket
//! (JSON or MessagePack, plain or batched) or raw HTTP over a TcpStream.
//!
//! Every receive has a timeout, so a message the router never sends fails the test instead of
//! hanging it. MessagePack values are shown to tests as `serde_json::Value`, with a `bin` as
//! `{"$bin": [bytes...]}` (see [`bin`]) so bytes and strings stay distinct.

#![allow(dead_code)]

pub mod bridge;
pub mod calls;
pub mod in_process;
pub mod sources;

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a message the router should send.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest WAMP id (2^53).
pub const MAX_ID: u64 = 1 << 53;

// ---------------------------------------------------------------------------------------------
// Configs
// ---------------------------------------------------------------------------------------------

/// A role with every permission on every URI.
pub fn full_access_role(name: &str) -> Value {
    json!({"name": name, "permissions": [{
        "uri": "", "match": "prefix",
        "allow": {"call": true, "register": true, "publish": true, "subscribe": true}
    }]})
}

/// A realm whose `anonymous` role may do everything; `uri_check` is "loose" or "strict".
pub fn open_realm(name: &str, uri_check: &str) -> Value {
    json!({
        "name": name,
        "roles": [full_access_role("anonymous")],
        "options": {"uri_check": uri_check}
    })
}

/// A web transport on 127.0.0.1:0 with WAMP at `/ws` (json and msgpack, `ws_options`) and a
/// websocket-testee at `/echo`.
pub fn web_transport(ws_options: Value) -> Value {
    json!({
        "type": "web",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
        "paths": {
            "ws": {"type": "websocket", "serializers": ["json", "msgpack"], "options": ws_options},
            "echo": {"type": "websocket-testee"}
        }
    })
}

/// A whole config from realms and transports, in Crossbar's shape.
pub fn config(realms: Vec<Value>, transports: Vec<Value>) -> Value {
    json!({"version": 2, "workers": [{"type": "router", "realms": realms, "transports": transports}]})
}

/// `realm1` (loose URIs) and `strict1` (strict URIs), one web transport without auto-ping.
pub fn default_config() -> Value {
    config(
        vec![
            open_realm("realm1", "loose"),
            open_realm("strict1", "strict"),
        ],
        vec![web_transport(json!({"max_message_size": 65536}))],
    )
}

// ---------------------------------------------------------------------------------------------
// The router process
// ---------------------------------------------------------------------------------------------

/// A running `junction start`; killed on drop.
pub struct Router {
    child: Child,
    log: Arc<Mutex<String>>,
    /// Bound TCP addresses, one per TCP transport in config order (Unix socket transports
    /// are waited for but have no address here).
    pub addrs: Vec<SocketAddr>,
    _config: tempfile::NamedTempFile,
}

impl Router {
    /// Starts the router with `config` and waits until every transport listens.
    pub fn start(config: &Value) -> Router {
        let transports = config["workers"]
            .as_array()
            .map(|ws| {
                ws.iter()
                    .map(|w| w["transports"].as_array().map_or(0, Vec::len))
                    .sum()
            })
            .unwrap_or(0);
        let mut file = tempfile::Builder::new()
            .suffix(".json")
            .tempfile()
            .expect("create config file");
        file.write_all(config.to_string().as_bytes())
            .expect("write config file");
        file.flush().expect("flush config file");

        let mut child = Command::new(env!("CARGO_BIN_EXE_junction"))
            .arg("start")
            .arg("--config")
            .arg(file.path())
            .env("JUNCTION_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn junction");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    // Logged before it is signalled: a test may read the log as soon as
                    // `start` returns.
                    {
                        let mut log = log.lock().unwrap();
                        log.push_str(&line);
                        log.push('\n');
                    }
                    if let Some(listening) = listening(&line) {
                        let _ = tx.send(listening);
                    }
                }
            });
        }
        let mut addrs = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        for _ in 0..transports {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Some(addr)) => addrs.push(addr),
                Ok(None) => {}
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    std::thread::sleep(Duration::from_millis(50));
                    panic!(
                        "junction did not report {transports} listening transports \
                         (exit status {status:?}); log:\n{}",
                        log.lock().unwrap()
                    );
                }
            }
        }
        Router {
            child,
            log,
            addrs,
            _config: file,
        }
    }

    /// The router's resident memory, in KiB (VmRSS of its process).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the router's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc status")
    }

    /// Everything the router logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`; false after `timeout`.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log.lock().unwrap().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Door for Router {
    fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }
}

/// A router the tests open WAMP clients to: the real binary ([`Router`]) or one in the test's
/// process ([`in_process::InProcess`]).
#[allow(async_fn_in_trait)] // test code: the futures are awaited where they are made
pub trait Door {
    /// The first transport's address.
    fn addr(&self) -> SocketAddr;

    /// `ws://ADDR{path}` on the first transport.
    fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr())
    }

    /// A JSON client on `/ws`, not joined.
    async fn json(&self) -> Client {
        Client::connect(&self.url("/ws"), &["wamp.2.json"], None)
            .await
            .expect("connect wamp.2.json")
    }

    /// A MessagePack client on `/ws`, not joined.
    async fn msgpack(&self) -> Client {
        Client::connect(&self.url("/ws"), &["wamp.2.msgpack"], None)
            .await
            .expect("connect wamp.2.msgpack")
    }

    /// A JSON client joined to `realm` anonymously, with its session id.
    async fn joined(&self, realm: &str) -> (Client, u64) {
        let mut client = self.json().await;
        let session = client.join(realm).await;
        (client, session)
    }
}

impl Router {
    /// Sends SIGTERM (what a service manager does to stop Junction).
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Sends SIGKILL (a crash, or the OOM killer) and waits for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit; `None` if it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `... listening on 127.0.0.1:PORT (...)` -> `Some(Some(address))`;
/// `... listening on unix:PATH (...)` -> `Some(None)`.
fn listening(line: &str) -> Option<Option<SocketAddr>> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    if rest.starts_with("unix:") {
        return Some(None);
    }
    rest.split_whitespace().next()?.parse().ok().map(Some)
}

// ---------------------------------------------------------------------------------------------
// MessagePack values as serde_json::Value, with `bin` kept apart from `str`
// ---------------------------------------------------------------------------------------------

/// A MessagePack `bin` in a test value: `{"$bin": [bytes...]}`.
pub fn bin(bytes: &[u8]) -> Value {
    json!({ "$bin": bytes })
}

fn as_bin(v: &Value) -> Option<Vec<u8>> {
    let obj = v.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    obj.get("$bin")?
        .as_array()?
        .iter()
        .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect()
}

/// Serializes a test value to MessagePack, writing [`bin`] objects as `bin`.
pub struct MsgPackOut<'a>(pub &'a Value);

impl Serialize for MsgPackOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(bytes) = as_bin(self.0) {
            return s.serialize_bytes(&bytes);
        }
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    s.serialize_u64(u)
                } else if let Some(i) = n.as_i64() {
                    s.serialize_i64(i)
                } else {
                    s.serialize_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(text) => s.serialize_str(text),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&MsgPackOut(item))?;
                }
                seq.end()
            }
            Value::Object(obj) => {
                let mut map = s.serialize_map(Some(obj.len()))?;
                for (k, v) in obj {
                    map.serialize_entry(k, &MsgPackOut(v))?;
                }
                map.end()
            }
        }
    }
}

/// Deserializes MessagePack into a test value, reading `bin` as [`bin`] objects.
pub struct MsgPackIn(pub Value);

impl<'de> Deserialize<'de> for MsgPackIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MsgPackVisitor)
    }
}

struct MsgPackVisitor;

impl<'de> Visitor<'de> for MsgPackVisitor {
    type Value = MsgPackIn;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a MessagePack value")
    }
    fn visit_unit<E>(self) -> Result<MsgPackIn, E> {
        Ok(MsgPackIn(Value::Null))
    }
    fn visit_none<E>(self) -> Result<MsgPackIn, E> {
        Ok(MsgPackIn(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<MsgPackIn, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, b: bool) -> Result<MsgPackIn, E> {
        Ok(MsgPackIn(json!(b)))
    }
    fn visit_i64<E>(self, i: i64) -> Result<MsgPackIn, E> {
        Ok(MsgPackIn(json!(i)))
    }
    fn visit_u64<E>(self, u: u64) -> Result<MsgPackIn, E> {
        Ok(MsgPackIn(json!(u)))
    }
    fn visit_f64<E>(self, f: f64) -> Result<MsgPackIn, E> {
        Ok(MsgPackIn(json!(f)))
    }
    fn visit_str<E>(self, s: &str) -> Result<MsgPackIn, E> {
        Ok(MsgPackIn(json!(s)))
    }
    fn visit_bytes<E>(self, b: &[u8]) -> Result<MsgPackIn, E> {
        Ok(MsgPackIn(bin(b)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MsgPackIn, A::Error> {
        let mut items = Vec::new();
        while let Some(MsgPackIn(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(MsgPackIn(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MsgPackIn, A::Error> {
        let mut obj = serde_json::Map::new();
        while let Some((k, MsgPackIn(v))) = map.next_entry::<String, MsgPackIn>()? {
            obj.insert(k, v);
        }
        Ok(MsgPackIn(Value::Object(obj)))
    }
}

pub fn msgpack_encode(v: &Value) -> Vec<u8> {
    rmp_serde::to_vec(&MsgPackOut(v)).expect("encode msgpack")
}

pub fn msgpack_decode(bytes: &[u8]) -> Value {
    match rmp_serde::from_slice::<MsgPackIn>(bytes) {
        Ok(MsgPackIn(v)) => v,
        Err(e) => panic!("router sent invalid MessagePack ({e}): {bytes:02x?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket clients
// ---------------------------------------------------------------------------------------------

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Builds an upgrade request for `url` with the given subprotocol offer and Origin.
pub fn ws_request(
    url: &str,
    protocols: &[&str],
    origin: Option<&str>,
) -> tungstenite::handshake::client::Request {
    let mut request = url.into_client_request().expect("valid ws url");
    let headers = request.headers_mut();
    if !protocols.is_empty() {
        headers.insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(&protocols.join(", ")).expect("header value"),
        );
    }
    if let Some(origin) = origin {
        headers.insert(
            "Origin",
            HeaderValue::from_str(origin).expect("header value"),
        );
    }
    request
}

/// Opens a WebSocket; returns the stream and the server's handshake response.
pub async fn ws_connect(
    url: &str,
    protocols: &[&str],
    origin: Option<&str>,
) -> Result<(Ws, Response<Option<Vec<u8>>>), tungstenite::Error> {
    let request = ws_request(url, protocols, origin);
    tokio::time::timeout(RECV_TIMEOUT, tokio_tungstenite::connect_async(request))
        .await
        .expect("WebSocket handshake timed out")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Json,
    MsgPack,
}

/// How a connection ended, as seen by [`Client::expect_close`].
#[derive(Debug)]
pub struct Closed {
    /// The close frame, if the router sent one.
    pub frame: Option<CloseFrame>,
    /// WAMP messages received before the close.
    pub messages: Vec<Value>,
}

/// A raw WAMP client: sends and receives WAMP messages as JSON values.
pub struct Client {
    pub ws: Ws,
    /// The negotiated subprotocol (None when the router chose none).
    pub protocol: Option<String>,
    pub codec: Codec,
    pub batched: bool,
    pending: VecDeque<Value>,
    next_request: u64,
}

impl Client {
    pub async fn connect(
        url: &str,
        protocols: &[&str],
        origin: Option<&str>,
    ) -> Result<Client, tungstenite::Error> {
        let (ws, response) = ws_connect(url, protocols, origin).await?;
        Ok(Client::from_ws(ws, &response))
    }

    /// A JSON client on `url` whose TCP connection comes from `source` (another loopback
    /// address, so that what one client address is counted for, like failed logins in the
    /// process-wide table, does not reach the others).
    pub async fn connect_from(url: &str, source: std::net::IpAddr) -> Client {
        let request = ws_request(url, &["wamp.2.json"], None);
        let host = url.trim_start_matches("ws://");
        let addr: SocketAddr = host[..host.find('/').unwrap_or(host.len())]
            .parse()
            .expect("ws://IP:PORT/...");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::new(source, 0))
            .expect("bind the source address");
        let stream = tokio::time::timeout(RECV_TIMEOUT, socket.connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        let (ws, response) = tokio::time::timeout(
            RECV_TIMEOUT,
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)),
        )
        .await
        .expect("WebSocket handshake timed out")
        .expect("WebSocket handshake");
        Client::from_ws(ws, &response)
    }

    pub fn from_ws(ws: Ws, response: &Response<Option<Vec<u8>>>) -> Client {
        let protocol = response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().expect("ascii subprotocol").to_owned());
        let name = protocol.as_deref().unwrap_or("wamp.2.json");
        let codec = if name.starts_with("wamp.2.msgpack") {
            Codec::MsgPack
        } else {
            Codec::Json
        };
        Client {
            ws,
            batched: name.ends_with(".batched"),
            protocol,
            codec,
            pending: VecDeque::new(),
            next_request: 0,
        }
    }

    /// A fresh request id.
    pub fn next_id(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    /// Encodes one message in this connection's serialization and framing.
    pub fn frame(&self, msg: &Value) -> WsMessage {
        match (self.codec, self.batched) {
            (Codec::Json, false) => WsMessage::text(msg.to_string()),
            (Codec::Json, true) => WsMessage::text(format!("{msg}\u{1e}")),
            (Codec::MsgPack, false) => WsMessage::binary(msgpack_encode(msg)),
            (Codec::MsgPack, true) => {
                let body = msgpack_encode(msg);
                let mut frame = (body.len() as u32).to_be_bytes().to_vec();
                frame.extend_from_slice(&body);
                WsMessage::binary(frame)
            }
        }
    }

    pub async fn send(&mut self, msg: Value) {
        let frame = self.frame(&msg);
        self.send_frame(frame).await;
    }

    pub async fn send_frame(&mut self, frame: WsMessage) {
        tokio::time::timeout(RECV_TIMEOUT, self.ws.send(frame))
            .await
            .expect("send timed out")
            .expect("send failed");
    }

    /// The next WebSocket frame other than ping/pong; None when the stream ended or errored.
    /// Panics on timeout.
    pub async fn recv_frame(&mut self) -> Option<Result<WsMessage, tungstenite::Error>> {
        self.recv_frame_within(RECV_TIMEOUT)
            .await
            .unwrap_or_else(|| panic!("no frame from the router within {RECV_TIMEOUT:?}"))
    }

    /// Like [`recv_frame`](Self::recv_frame) with a timeout: `None` when nothing arrived.
    pub async fn recv_frame_within(
        &mut self,
        timeout: Duration,
    ) -> Option<Option<Result<WsMessage, tungstenite::Error>>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => continue,
                Ok(other) => return Some(other),
            }
        }
    }

    /// Decodes a data frame into the WAMP messages it carries.
    pub fn decode_frame(&self, frame: &WsMessage) -> Vec<Value> {
        match frame {
            WsMessage::Text(text) => {
                assert_eq!(
                    self.codec,
                    Codec::Json,
                    "text frame on a {:?} session",
                    self.codec
                );
                let parse = |s: &str| -> Value {
                    serde_json::from_str(s)
                        .unwrap_or_else(|e| panic!("router sent invalid JSON ({e}): {s:?}"))
                };
                if self.batched {
                    assert!(
                        text.ends_with('\u{1e}'),
                        "batched JSON frame must end with 0x1E: {text:?}"
                    );
                    text.split('\u{1e}')
                        .filter(|s| !s.is_empty())
                        .map(parse)
                        .collect()
                } else {
                    vec![parse(text)]
                }
            }
            WsMessage::Binary(data) => {
                assert_eq!(
                    self.codec,
                    Codec::MsgPack,
                    "binary frame on a {:?} session",
                    self.codec
                );
                if self.batched {
                    split_length_prefixed(data)
                        .into_iter()
                        .map(msgpack_decode)
                        .collect()
                } else {
                    vec![msgpack_decode(data)]
                }
            }
            other => panic!("not a data frame: {other:?}"),
        }
    }

    /// The next WAMP message; panics on timeout or when the connection closes first.
    pub async fn recv(&mut self) -> Value {
        match self.recv_within(RECV_TIMEOUT).await {
            Some(msg) => msg,
            None => panic!("no WAMP message from the router within {RECV_TIMEOUT:?}"),
        }
    }

    /// The next WAMP message within `timeout`, or None. Panics when the connection closes.
    pub async fn recv_within(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(msg) = self.pending.pop_front() {
            return Some(msg);
        }
        let frame = self.recv_frame_within(timeout).await?;
        match frame {
            Some(Ok(frame @ (WsMessage::Text(_) | WsMessage::Binary(_)))) => {
                self.pending.extend(self.decode_frame(&frame));
                self.pending.pop_front()
            }
            Some(Ok(WsMessage::Close(close))) => {
                panic!("connection closed while waiting for a WAMP message: {close:?}")
            }
            Some(Ok(other)) => panic!("unexpected frame: {other:?}"),
            Some(Err(e)) => panic!("connection failed while waiting for a WAMP message: {e}"),
            None => panic!("connection ended while waiting for a WAMP message"),
        }
    }

    /// Asserts that no WAMP message arrives within `timeout`.
    pub async fn expect_silence(&mut self, timeout: Duration) {
        if let Some(msg) = self.recv_within(timeout).await {
            panic!("expected no message, got {msg}");
        }
    }

    /// Sends `msg` and returns the next message.
    pub async fn request(&mut self, msg: Value) -> Value {
        self.send(msg).await;
        self.recv().await
    }

    /// Reads until the router closes the connection (close frame or end of stream); panics if
    /// that does not happen within the timeout.
    pub async fn expect_close(&mut self) -> Closed {
        let mut messages: Vec<Value> = self.pending.drain(..).collect();
        loop {
            match self.recv_frame_within(RECV_TIMEOUT).await {
                None => panic!(
                    "the router did not close the connection within {RECV_TIMEOUT:?} \
                     (received {messages:?})"
                ),
                Some(Some(Ok(frame @ (WsMessage::Text(_) | WsMessage::Binary(_))))) => {
                    messages.extend(self.decode_frame(&frame));
                }
                Some(Some(Ok(WsMessage::Close(frame)))) => {
                    // Let tungstenite finish the close handshake; the stream then ends.
                    let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.next()).await;
                    return Closed { frame, messages };
                }
                Some(Some(Ok(_))) => continue,
                Some(Some(Err(_)) | None) => {
                    return Closed {
                        frame: None,
                        messages,
                    };
                }
            }
        }
    }

    /// HELLO to `realm`; returns the router's answer (WELCOME or ABORT).
    pub async fn hello(&mut self, realm: &str) -> Value {
        self.request(json!([1, realm, {"roles": {
            "publisher": {"features": {}}, "subscriber": {"features": {}},
            "caller": {"features": {"progressive_call_results": true}}, "callee": {"features": {}}
        }}]))
        .await
    }

    /// Joins `realm`; returns the session id.
    pub async fn join(&mut self, realm: &str) -> u64 {
        let welcome = self.hello(realm).await;
        assert_eq!(welcome[0], 2, "expected WELCOME, got {welcome}");
        welcome[1].as_u64().expect("session id")
    }

    /// SUBSCRIBE and expect SUBSCRIBED; returns the subscription id.
    pub async fn subscribe(&mut self, topic: &str, options: Value) -> u64 {
        let request = self.next_id();
        let reply = self.request(json!([32, request, options, topic])).await;
        assert_eq!(reply[0], 33, "expected SUBSCRIBED for {topic}, got {reply}");
        assert_eq!(reply[1], request, "SUBSCRIBED for another request: {reply}");
        reply[2].as_u64().expect("subscription id")
    }

    /// REGISTER and expect REGISTERED; returns the registration id.
    pub async fn register(&mut self, procedure: &str, options: Value) -> u64 {
        let reply = self.try_register(procedure, options).await;
        assert_eq!(
            reply[0], 65,
            "expected REGISTERED for {procedure}, got {reply}"
        );
        reply[2].as_u64().expect("registration id")
    }

    /// REGISTER; returns the reply, whatever it is.
    pub async fn try_register(&mut self, procedure: &str, options: Value) -> Value {
        let request = self.next_id();
        let reply = self.request(json!([64, request, options, procedure])).await;
        let answered = if reply[0] == 8 { &reply[2] } else { &reply[1] };
        assert_eq!(*answered, request, "reply to another request: {reply}");
        reply
    }

    /// PUBLISH with acknowledge (plus `options`); returns the reply (PUBLISHED or ERROR) and
    /// any EVENTs received before it.
    pub async fn publish_ack(
        &mut self,
        topic: &str,
        mut options: Value,
        args: Value,
    ) -> (Value, Vec<Value>) {
        options["acknowledge"] = json!(true);
        let request = self.next_id();
        self.send(json!([16, request, options, topic, args])).await;
        let mut events = Vec::new();
        loop {
            let msg = self.recv().await;
            if msg[0] == 36 {
                events.push(msg);
                continue;
            }
            let answered = if msg[0] == 8 { &msg[2] } else { &msg[1] };
            assert_eq!(*answered, request, "reply to another request: {msg}");
            return (msg, events);
        }
    }
}

/// Splits a batched MessagePack frame (u32 big-endian length prefixes), checking that the
/// lengths account for every byte.
pub fn split_length_prefixed(mut frame: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !frame.is_empty() {
        assert!(frame.len() >= 4, "truncated length prefix in {frame:02x?}");
        let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert!(
            frame.len() >= 4 + len,
            "batched msgpack: length {len} exceeds the {} bytes left",
            frame.len() - 4
        );
        out.push(&frame[4..4 + len]);
        frame = &frame[4 + len..];
    }
    out
}

/// Asserts `msg` is an ERROR for (request_type, request) with this URI; returns it.
#[track_caller]
pub fn assert_error(msg: &Value, request_type: u64, request: u64, uri: &str) {
    assert_eq!(msg[0], 8, "expected ERROR {uri}, got {msg}");
    assert_eq!(msg[1], request_type, "ERROR request type: {msg}");
    assert_eq!(msg[2], request, "ERROR request id: {msg}");
    assert!(msg[3].is_object(), "ERROR details must be a dict: {msg}");
    assert_eq!(msg[4], uri, "ERROR uri: {msg}");
}

/// Asserts `msg` is an ABORT with this reason and a details.message string.
#[track_caller]
pub fn assert_abort(msg: &Value, reason: &str) {
    assert_eq!(msg[0], 3, "expected ABORT {reason}, got {msg}");
    assert_eq!(msg[2], reason, "ABORT reason: {msg}");
    assert!(
        msg[1]["message"].is_string(),
        "ABORT details.message must be a string: {msg}"
    );
    assert_eq!(
        msg.as_array().map(Vec::len),
        Some(3),
        "ABORT has 3 elements: {msg}"
    );
}

/// Polls REGISTER for `procedure` from `client` until it succeeds (true) or `within` passes.
pub async fn register_eventually(client: &mut Client, procedure: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let reply = client.try_register(procedure, json!({})).await;
        if reply[0] == 65 {
            return true;
        }
        let request = reply[2].as_u64().unwrap_or(0);
        assert_error(&reply, 64, request, "wamp.error.procedure_already_exists");
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP
// ---------------------------------------------------------------------------------------------

/// An HTTP response read off a raw TCP stream.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; panics when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends `head` (request line and headers, without the final blank line) on a new connection
/// and reads the response: headers, then a Content-Length body (or until EOF).
pub async fn raw_http(addr: SocketAddr, head: &str) -> HttpResponse {
    raw_http_body(addr, head, b"").await
}

/// Like [`raw_http`], with `body` sent after the head (the head carries its Content-Length).
pub async fn raw_http_body(addr: SocketAddr, head: &str, body: &[u8]) -> HttpResponse {
    tokio::time::timeout(RECV_TIMEOUT, raw_http_inner(addr, head, body))
        .await
        .expect("HTTP response timed out")
}

async fn raw_http_inner(addr: SocketAddr, head: &str, body: &[u8]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("{}\r\n\r\n", head.trim_end()).into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).await.expect("write request");
    let mut buf = Vec::new();
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read response");
        assert!(
            n > 0,
            "connection closed before the response head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = buf[header_end..].to_vec();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    loop {
        if length.is_some_and(|len| body.len() >= len) {
            break;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// A WebSocket upgrade request head for `path` with extra header lines.
pub fn upgrade_head(addr: SocketAddr, path: &str, extra: &[&str]) -> String {
    let mut head = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head
}
