//! The WAMP client side the scenarios need, over WebSocket (tokio-tungstenite), with the `json`
//! and `msgpack` serializations, against any router URL (Junction or Crossbar).
//!
//! Only the messages the scenarios use are written and read. Outgoing messages are tuples,
//! which serde writes as arrays in both formats. Incoming ones are decoded by one visitor that
//! keeps the few fields a scenario looks at and skips the rest without building values, so the
//! generator spends its core on the load rather than on parsing. Payload `Arguments` carry a
//! timestamp first (nanoseconds on the generator's [`Clock`](crate::measure::Clock)) and padding
//! second.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message as WsMessage};

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

pub const HELLO: u64 = 1;
pub const WELCOME: u64 = 2;
pub const ABORT: u64 = 3;
pub const GOODBYE: u64 = 6;
pub const ERROR: u64 = 8;
pub const PUBLISH: u64 = 16;
pub const PUBLISHED: u64 = 17;
pub const SUBSCRIBE: u64 = 32;
pub const SUBSCRIBED: u64 = 33;
pub const EVENT: u64 = 36;
pub const CALL: u64 = 48;
pub const RESULT: u64 = 50;
pub const REGISTER: u64 = 64;
pub const REGISTERED: u64 = 65;
pub const INVOCATION: u64 = 68;
pub const YIELD: u64 = 70;

/// The serialization of a session, named as on the command line.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serialization {
    Json,
    Msgpack,
}

impl Serialization {
    pub fn subprotocol(self) -> &'static str {
        match self {
            Serialization::Json => "wamp.2.json",
            Serialization::Msgpack => "wamp.2.msgpack",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Serialization::Json => "json",
            Serialization::Msgpack => "msgpack",
        }
    }

    /// One message as a WebSocket frame: text for JSON, binary for MessagePack (maps keep
    /// their keys: `to_vec_named`).
    pub fn encode<T: Serialize>(self, msg: &T) -> WsMessage {
        match self {
            Serialization::Json => {
                let text = serde_json::to_string(msg).expect("messages serialize to JSON");
                WsMessage::Text(text.into())
            }
            Serialization::Msgpack => {
                let bin = rmp_serde::to_vec_named(msg).expect("messages serialize to msgpack");
                WsMessage::Binary(Bytes::from(bin))
            }
        }
    }

    pub fn decode(self, frame: &[u8]) -> Result<Incoming> {
        Ok(match self {
            Serialization::Json => serde_json::from_slice(frame)?,
            Serialization::Msgpack => rmp_serde::from_slice(frame)?,
        })
    }
}

/// `{}`: Details and Options of the messages the generator sends.
pub struct Empty;

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

#[derive(Serialize)]
pub struct PublishOptions {
    pub acknowledge: bool,
}

#[derive(Serialize)]
pub struct RegisterOptions<'a> {
    pub invoke: &'a str,
}

/// `[HELLO, realm, {roles}]` announcing the four client roles.
pub fn hello(realm: &str) -> impl Serialize + '_ {
    let roles = serde_json::json!({"roles": {
        "publisher": {}, "subscriber": {}, "caller": {}, "callee": {}
    }});
    (HELLO, realm, roles)
}

pub fn goodbye() -> impl Serialize {
    (GOODBYE, Empty, "wamp.close.normal")
}

pub fn subscribe(request: u64, topic: &str) -> impl Serialize + '_ {
    (SUBSCRIBE, request, Empty, topic)
}

/// `[PUBLISH, request, {acknowledge}, topic, [stamp, padding]]`.
pub fn publish<'a>(
    request: u64,
    acknowledge: bool,
    topic: &'a str,
    stamp: u64,
    padding: &'a str,
) -> impl Serialize + 'a {
    let options = PublishOptions { acknowledge };
    (PUBLISH, request, options, topic, (stamp, padding))
}

/// `[REGISTER, request, {invoke}, procedure]`; `invoke` only when several callees share it.
pub fn register<'a>(request: u64, procedure: &'a str, shared: bool) -> WsRegister<'a> {
    WsRegister {
        request,
        procedure,
        shared,
    }
}

pub struct WsRegister<'a> {
    request: u64,
    procedure: &'a str,
    shared: bool,
}

impl Serialize for WsRegister<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if self.shared {
            let options = RegisterOptions {
                invoke: "roundrobin",
            };
            (REGISTER, self.request, options, self.procedure).serialize(s)
        } else {
            (REGISTER, self.request, Empty, self.procedure).serialize(s)
        }
    }
}

/// `[CALL, request, {}, procedure, [stamp, padding]]`.
pub fn call<'a>(
    request: u64,
    procedure: &'a str,
    stamp: u64,
    padding: &'a str,
) -> impl Serialize + 'a {
    (CALL, request, Empty, procedure, (stamp, padding))
}

/// `[YIELD, invocation, {}, [stamp]]`: the callee answers with the caller's stamp.
pub fn yield_(invocation: u64, stamp: Option<u64>) -> impl Serialize {
    (YIELD, invocation, Empty, [stamp])
}

/// The messages a scenario reacts to, with only the fields it reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Welcome {
        session: u64,
    },
    Abort {
        reason: String,
    },
    Goodbye {
        reason: String,
    },
    Error {
        request_type: u64,
        request: u64,
        error: String,
    },
    Published {
        request: u64,
    },
    Subscribed {
        request: u64,
        subscription: u64,
    },
    /// `stamp`: the first positional argument when it is an unsigned integer.
    Event {
        subscription: u64,
        stamp: Option<u64>,
    },
    Registered {
        request: u64,
        registration: u64,
    },
    Invocation {
        request: u64,
        stamp: Option<u64>,
    },
    Result {
        request: u64,
        stamp: Option<u64>,
    },
    /// Anything else, by message type code.
    Other(u64),
}

impl<'de> Deserialize<'de> for Incoming {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_seq(IncomingVisitor)
    }
}

struct IncomingVisitor;

fn next<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(
    seq: &mut A,
) -> std::result::Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::custom("WAMP message too short"))
}

/// Skips Details, then reads the first positional argument if there is one.
fn stamp_after_details<'de, A: SeqAccess<'de>>(
    seq: &mut A,
) -> std::result::Result<Option<u64>, A::Error> {
    let _details: IgnoredAny = next(seq)?;
    Ok(seq.next_element::<FirstArg>()?.and_then(|a| a.0))
}

impl<'de> Visitor<'de> for IncomingVisitor {
    type Value = Incoming;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a WAMP message (an array starting with its type code)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Incoming, A::Error> {
        let code: u64 = next(&mut seq)?;
        let msg = match code {
            WELCOME => Incoming::Welcome {
                session: next(&mut seq)?,
            },
            ABORT | GOODBYE => {
                let _details: IgnoredAny = next(&mut seq)?;
                let reason = next(&mut seq)?;
                if code == ABORT {
                    Incoming::Abort { reason }
                } else {
                    Incoming::Goodbye { reason }
                }
            }
            ERROR => {
                let request_type = next(&mut seq)?;
                let request = next(&mut seq)?;
                let _details: IgnoredAny = next(&mut seq)?;
                Incoming::Error {
                    request_type,
                    request,
                    error: next(&mut seq)?,
                }
            }
            PUBLISHED => Incoming::Published {
                request: next(&mut seq)?,
            },
            SUBSCRIBED => Incoming::Subscribed {
                request: next(&mut seq)?,
                subscription: next(&mut seq)?,
            },
            EVENT => {
                let subscription = next(&mut seq)?;
                let _publication: IgnoredAny = next(&mut seq)?;
                Incoming::Event {
                    subscription,
                    stamp: stamp_after_details(&mut seq)?,
                }
            }
            REGISTERED => Incoming::Registered {
                request: next(&mut seq)?,
                registration: next(&mut seq)?,
            },
            INVOCATION => {
                let request = next(&mut seq)?;
                let _registration: IgnoredAny = next(&mut seq)?;
                Incoming::Invocation {
                    request,
                    stamp: stamp_after_details(&mut seq)?,
                }
            }
            RESULT => Incoming::Result {
                request: next(&mut seq)?,
                stamp: stamp_after_details(&mut seq)?,
            },
            other => Incoming::Other(other),
        };
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(msg)
    }
}

/// The first element of an `Arguments` list when it is an unsigned integer.
struct FirstArg(Option<u64>);

impl<'de> Deserialize<'de> for FirstArg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_seq(FirstArgVisitor)
    }
}

struct FirstArgVisitor;

impl<'de> Visitor<'de> for FirstArgVisitor {
    type Value = FirstArg;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an Arguments list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<FirstArg, A::Error> {
        let first = seq.next_element::<MaybeU64>()?.and_then(|m| m.0);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FirstArg(first))
    }
}

/// Any value; `Some` when it is a non-negative integer.
struct MaybeU64(Option<u64>);

impl<'de> Deserialize<'de> for MaybeU64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(MaybeU64Visitor)
    }
}

struct MaybeU64Visitor;

impl<'de> Visitor<'de> for MaybeU64Visitor {
    type Value = MaybeU64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<MaybeU64, E> {
        Ok(MaybeU64(Some(v)))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<MaybeU64, E> {
        Ok(MaybeU64(u64::try_from(v).ok()))
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<MaybeU64, E> {
        Ok(MaybeU64(None))
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<MaybeU64, E> {
        Ok(MaybeU64(None))
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<MaybeU64, E> {
        Ok(MaybeU64(None))
    }
    fn visit_bytes<E>(self, _: &[u8]) -> std::result::Result<MaybeU64, E> {
        Ok(MaybeU64(None))
    }
    fn visit_unit<E>(self) -> std::result::Result<MaybeU64, E> {
        Ok(MaybeU64(None))
    }
    fn visit_none<E>(self) -> std::result::Result<MaybeU64, E> {
        Ok(MaybeU64(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<MaybeU64, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(MaybeU64(None))
    }
    fn visit_map<A: de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<MaybeU64, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(MaybeU64(None))
    }
}

/// Where and how sessions connect (`--url`, `--realm`, `--serializer` of a scenario).
#[derive(clap::Args, Debug, Clone)]
pub struct Endpoint {
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub url: String,
    #[arg(long, default_value = "realm1")]
    pub realm: String,
    #[arg(
        long = "serializer",
        value_name = "SERIALIZER",
        value_enum,
        default_value = "json"
    )]
    pub serialization: Serialization,
}

/// One WebSocket connection speaking WAMP.
pub struct Session {
    ws: WebSocketStream<TcpStream>,
    serialization: Serialization,
    pub id: u64,
}

/// Small buffers: thousands of sessions live in one generator, and tungstenite zero-fills the
/// read buffer's free part before every read, so its size is paid per read syscall.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(16 * 1024)
}

impl Session {
    /// Opens the WebSocket (from `source` when given, e.g. 127.0.0.2 to spread ports) and
    /// joins the realm.
    pub async fn join(endpoint: &Endpoint, source: Option<IpAddr>) -> Result<Session> {
        let mut request = endpoint.url.as_str().into_client_request()?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(endpoint.serialization.subprotocol()),
        );
        let uri = request.uri();
        let host = uri.host().ok_or("the WebSocket URL has no host")?;
        let port = uri.port_u16().unwrap_or(80);
        let addr: SocketAddr = tokio::net::lookup_host((host, port))
            .await?
            .next()
            .ok_or("the WebSocket URL's host has no address")?;
        let stream = connect(addr, source).await?;
        let (ws, response) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(client_config()))
                .await?;
        let chosen = response.headers().get("Sec-WebSocket-Protocol");
        if chosen.and_then(|v| v.to_str().ok()) != Some(endpoint.serialization.subprotocol()) {
            return Err(format!(
                "the router did not accept {}",
                endpoint.serialization.subprotocol()
            )
            .into());
        }
        let mut session = Session {
            ws,
            serialization: endpoint.serialization,
            id: 0,
        };
        session.send_now(&hello(&endpoint.realm)).await?;
        match session.recv().await? {
            Incoming::Welcome { session: id } => session.id = id,
            other => return Err(format!("expected WELCOME, got {other:?}").into()),
        }
        Ok(session)
    }

    /// Queues a message; it is written at the next [`Session::flush`] (or when the write buffer
    /// fills), so a burst costs one syscall.
    pub async fn feed<T: Serialize>(&mut self, msg: &T) -> Result<()> {
        Ok(self.ws.feed(self.serialization.encode(msg)).await?)
    }

    pub async fn flush(&mut self) -> Result<()> {
        Ok(self.ws.flush().await?)
    }

    pub async fn send_now<T: Serialize>(&mut self, msg: &T) -> Result<()> {
        self.feed(msg).await?;
        self.flush().await
    }

    /// The next WAMP message (pings are answered by tungstenite).
    pub async fn recv(&mut self) -> Result<Incoming> {
        loop {
            let frame = self
                .ws
                .next()
                .await
                .ok_or("the router closed the connection")??;
            if let Some(msg) = self.decode(frame)? {
                return Ok(msg);
            }
        }
    }

    /// A message that has already arrived, without waiting; `None` when there is none yet.
    pub fn try_recv(&mut self) -> Result<Option<Incoming>> {
        loop {
            let Some(frame) = self.ws.next().now_or_never() else {
                return Ok(None);
            };
            let frame = frame.ok_or("the router closed the connection")??;
            if let Some(msg) = self.decode(frame)? {
                return Ok(Some(msg));
            }
        }
    }

    fn decode(&self, frame: WsMessage) -> Result<Option<Incoming>> {
        match frame {
            WsMessage::Text(text) => self.serialization.decode(text.as_bytes()).map(Some),
            WsMessage::Binary(bin) => self.serialization.decode(&bin).map(Some),
            WsMessage::Close(close) => {
                Err(format!("the router closed the connection: {close:?}").into())
            }
            _ => Ok(None),
        }
    }

    /// SUBSCRIBE and wait for SUBSCRIBED; returns the subscription id.
    pub async fn subscribe(&mut self, topic: &str) -> Result<u64> {
        self.send_now(&subscribe(1, topic)).await?;
        match self.recv().await? {
            Incoming::Subscribed { subscription, .. } => Ok(subscription),
            other => Err(format!("expected SUBSCRIBED, got {other:?}").into()),
        }
    }

    /// REGISTER and wait for REGISTERED; returns the registration id.
    pub async fn register(&mut self, procedure: &str, shared: bool) -> Result<u64> {
        self.send_now(&register(1, procedure, shared)).await?;
        match self.recv().await? {
            Incoming::Registered { registration, .. } => Ok(registration),
            other => Err(format!("expected REGISTERED, got {other:?}").into()),
        }
    }

    /// GOODBYE, then the close handshake (errors ignored: the run is over).
    pub async fn leave(mut self) {
        let _ = self.send_now(&goodbye()).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), self.ws.close(None)).await;
    }
}

/// A TCP connection to `addr` (from `source` when given, e.g. 127.0.0.2 to spread ports), with
/// Nagle off: small messages go out at once.
pub async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// `n` bytes of padding for payloads.
pub fn padding(n: usize) -> String {
    "x".repeat(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn as_json<T: Serialize>(msg: &T) -> serde_json::Value {
        match Serialization::Json.encode(msg) {
            WsMessage::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
            other => panic!("JSON is sent as text, got {other:?}"),
        }
    }

    fn as_msgpack<T: Serialize>(msg: &T) -> serde_json::Value {
        match Serialization::Msgpack.encode(msg) {
            WsMessage::Binary(b) => rmp_serde::from_slice(&b).unwrap(),
            other => panic!("msgpack is sent as binary, got {other:?}"),
        }
    }

    #[test]
    fn outgoing_messages_are_wamp_arrays_in_both_serializations() {
        let cases = [
            (
                as_json(&hello("realm1")),
                json!([1, "realm1", {"roles": {
                "publisher": {}, "subscriber": {}, "caller": {}, "callee": {}}}]),
            ),
            (as_json(&subscribe(7, "t")), json!([32, 7, {}, "t"])),
            (
                as_json(&publish(8, true, "t", 42, "xx")),
                json!([16, 8, {"acknowledge": true}, "t", [42, "xx"]]),
            ),
            (as_json(&register(9, "p", false)), json!([64, 9, {}, "p"])),
            (
                as_json(&register(9, "p", true)),
                json!([64, 9, {"invoke": "roundrobin"}, "p"]),
            ),
            (
                as_json(&call(10, "p", 5, "")),
                json!([48, 10, {}, "p", [5, ""]]),
            ),
            (as_json(&yield_(11, Some(5))), json!([70, 11, {}, [5]])),
            (as_json(&goodbye()), json!([6, {}, "wamp.close.normal"])),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        // MessagePack keeps map keys (not struct-as-array).
        assert_eq!(
            as_msgpack(&publish(8, false, "t", 42, "xx")),
            json!([16, 8, {"acknowledge": false}, "t", [42, "xx"]])
        );
        assert_eq!(
            as_msgpack(&register(1, "p", true)),
            json!([64, 1, {"invoke": "roundrobin"}, "p"])
        );
    }

    fn decode_both(msg: serde_json::Value) -> Incoming {
        let json = Serialization::Json
            .decode(msg.to_string().as_bytes())
            .unwrap();
        let packed = rmp_serde::to_vec_named(&msg).unwrap();
        let msgpack = Serialization::Msgpack.decode(&packed).unwrap();
        assert_eq!(json, msgpack, "{msg}");
        json
    }

    #[test]
    fn incoming_messages_keep_the_fields_scenarios_read() {
        let cases = [
            (
                json!([2, 123, {"roles": {"broker": {}}}]),
                Incoming::Welcome { session: 123 },
            ),
            (
                json!([3, {"message": "no"}, "wamp.error.no_such_realm"]),
                Incoming::Abort {
                    reason: "wamp.error.no_such_realm".into(),
                },
            ),
            (
                json!([6, {}, "wamp.close.goodbye_and_out"]),
                Incoming::Goodbye {
                    reason: "wamp.close.goodbye_and_out".into(),
                },
            ),
            (
                json!([8, 48, 5, {}, "wamp.error.no_such_procedure", ["x"]]),
                Incoming::Error {
                    request_type: 48,
                    request: 5,
                    error: "wamp.error.no_such_procedure".into(),
                },
            ),
            (json!([17, 4, 999]), Incoming::Published { request: 4 }),
            (
                json!([33, 1, 77]),
                Incoming::Subscribed {
                    request: 1,
                    subscription: 77,
                },
            ),
            (
                json!([36, 77, 999, {}, [123456789, "xxxx"], {"k": [1, 2]}]),
                Incoming::Event {
                    subscription: 77,
                    stamp: Some(123456789),
                },
            ),
            (
                json!([36, 77, 999, {}]),
                Incoming::Event {
                    subscription: 77,
                    stamp: None,
                },
            ),
            (
                json!([36, 77, 999, {}, ["text", 1]]),
                Incoming::Event {
                    subscription: 77,
                    stamp: None,
                },
            ),
            (
                json!([36, 77, 999, {}, [{"a": [1]}, 1]]),
                Incoming::Event {
                    subscription: 77,
                    stamp: None,
                },
            ),
            (
                json!([65, 1, 55]),
                Incoming::Registered {
                    request: 1,
                    registration: 55,
                },
            ),
            (
                json!([68, 9, 55, {}, [42, "pad"]]),
                Incoming::Invocation {
                    request: 9,
                    stamp: Some(42),
                },
            ),
            (
                json!([50, 10, {}, [42]]),
                Incoming::Result {
                    request: 10,
                    stamp: Some(42),
                },
            ),
            (
                json!([50, 10, {}]),
                Incoming::Result {
                    request: 10,
                    stamp: None,
                },
            ),
            (json!([35, 2]), Incoming::Other(35)),
        ];
        for (wire, want) in cases {
            assert_eq!(decode_both(wire), want);
        }
    }

    #[test]
    fn malformed_messages_are_errors() {
        for bad in ["[]", "[2]", "{}", "[36, 1]", "[\"x\"]"] {
            assert!(Serialization::Json.decode(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
