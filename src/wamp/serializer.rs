//! Serializers: WAMP messages to and from bytes in JSON and MessagePack, the WebSocket
//! subprotocol names that select them, and the batched framing of both.
//!
//! JSON goes in text frames, MessagePack in binary frames. Batched variants pack several
//! messages into one frame: JSON messages each followed by a separator, MessagePack messages
//! each prefixed by a big-endian u32 length.
//!
//! The spec's JSON separator is 0x1E, but autobahn-python (and so Crossbar) writes and expects
//! 0x18 (its source says `"\30"`, an octal escape). Junction reads both (neither byte can occur
//! unescaped in JSON text) and answers with the one the client used.

use bytes::{BufMut, Bytes, BytesMut};

use crate::wamp::message::{Message, ProtocolViolation};
use crate::wamp::value::Value;

/// The encoding of one message (framing aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Serialization {
    Json,
    MsgPack,
}

/// Deepest nesting of lists and dicts accepted in a message (serde_json's own limit).
const MAX_DEPTH: usize = 128;

/// The JSON batch separator of the spec.
pub const JSON_SEPARATOR: u8 = 0x1E;
/// The JSON batch separator autobahn-python uses.
pub const AUTOBAHN_PYTHON_JSON_SEPARATOR: u8 = 0x18;

/// The separator a batched JSON frame ends with, if it is one of the two in use.
pub fn json_separator_of(frame: &[u8]) -> Option<u8> {
    frame
        .last()
        .copied()
        .filter(|b| *b == JSON_SEPARATOR || *b == AUTOBAHN_PYTHON_JSON_SEPARATOR)
}

/// Number of serializations; an EVENT is encoded at most once per serialization.
pub const SERIALIZATIONS: usize = 2;

impl Serialization {
    /// Index for per-serialization caches.
    pub fn index(self) -> usize {
        match self {
            Serialization::Json => 0,
            Serialization::MsgPack => 1,
        }
    }

    /// Whether frames are WebSocket text (JSON) or binary (MessagePack).
    pub fn is_text(self) -> bool {
        self == Serialization::Json
    }

    pub fn encode(self, msg: &Message) -> Bytes {
        self.encode_any(msg)
    }

    /// Encodes anything that serializes as a WAMP message list (e.g. a borrowed EVENT).
    pub fn encode_any<T: serde::Serialize>(self, msg: &T) -> Bytes {
        match self {
            // Serializing our own types into memory cannot fail: keys are strings and floats
            // that JSON cannot hold (NaN, inf) are written as null by serde_json.
            Serialization::Json => match serde_json::to_vec(msg) {
                Ok(v) => Bytes::from(v),
                Err(e) => unreachable_encode(e),
            },
            Serialization::MsgPack => match rmp_serde::to_vec(msg) {
                Ok(v) => Bytes::from(v),
                Err(e) => unreachable_encode(e),
            },
        }
    }

    pub fn decode(self, bytes: &[u8]) -> Result<Message, ProtocolViolation> {
        let value: Value = match self {
            Serialization::Json => serde_json::from_slice(bytes)
                .map_err(|e| ProtocolViolation(format!("invalid JSON: {e}")))?,
            Serialization::MsgPack => {
                let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
                // The same nesting limit serde_json applies, so hostile input cannot exhaust
                // the stack.
                de.set_max_depth(MAX_DEPTH);
                serde::Deserialize::deserialize(&mut de)
                    .map_err(|e| ProtocolViolation(format!("invalid MessagePack: {e}")))?
            }
        };
        Message::from_value(value)
    }
}

#[cold]
fn unreachable_encode(e: impl std::fmt::Display) -> Bytes {
    // Kept as an explicit, logged fallback rather than a panic: an empty frame makes the peer
    // fail loudly instead of the router crashing.
    tracing::error!("failed to encode a message: {e}");
    Bytes::new()
}

/// A negotiated WebSocket subprotocol: serialization plus framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subprotocol {
    pub serialization: Serialization,
    pub batched: bool,
}

impl Subprotocol {
    pub fn parse(name: &str) -> Option<Subprotocol> {
        let (serialization, batched) = match name {
            "wamp.2.json" => (Serialization::Json, false),
            "wamp.2.json.batched" => (Serialization::Json, true),
            "wamp.2.msgpack" => (Serialization::MsgPack, false),
            "wamp.2.msgpack.batched" => (Serialization::MsgPack, true),
            _ => return None,
        };
        Some(Subprotocol {
            serialization,
            batched,
        })
    }

    pub fn name(self) -> &'static str {
        match (self.serialization, self.batched) {
            (Serialization::Json, false) => "wamp.2.json",
            (Serialization::Json, true) => "wamp.2.json.batched",
            (Serialization::MsgPack, false) => "wamp.2.msgpack",
            (Serialization::MsgPack, true) => "wamp.2.msgpack.batched",
        }
    }

    /// Splits one received frame into the messages it carries.
    pub fn split(self, frame: &[u8]) -> Result<Vec<&[u8]>, ProtocolViolation> {
        if !self.batched {
            return Ok(vec![frame]);
        }
        match self.serialization {
            Serialization::Json => Ok(frame
                .split(|b| *b == JSON_SEPARATOR || *b == AUTOBAHN_PYTHON_JSON_SEPARATOR)
                .filter(|part| !part.is_empty())
                .collect()),
            Serialization::MsgPack => split_length_prefixed(frame),
        }
    }

    /// Appends one encoded message to a frame being built, with the batched delimiter
    /// (`json_separator` for batched JSON).
    pub fn append(self, frame: &mut BytesMut, message: &[u8], json_separator: u8) {
        match (self.batched, self.serialization) {
            (false, _) => frame.put_slice(message),
            (true, Serialization::Json) => {
                frame.put_slice(message);
                frame.put_u8(json_separator);
            }
            (true, Serialization::MsgPack) => {
                frame.put_u32(message.len() as u32);
                frame.put_slice(message);
            }
        }
    }
}

fn split_length_prefixed(mut frame: &[u8]) -> Result<Vec<&[u8]>, ProtocolViolation> {
    let mut messages = Vec::new();
    while !frame.is_empty() {
        let Some((len, rest)) = frame.split_first_chunk::<4>() else {
            return Err(ProtocolViolation(
                "batched msgpack: truncated length prefix".into(),
            ));
        };
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err(ProtocolViolation(
                "batched msgpack: message shorter than its length".into(),
            ));
        }
        let (message, rest) = rest.split_at(len);
        messages.push(message);
        frame = rest;
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wamp::message::Payload;
    use crate::wamp::value::Dict;

    fn publish() -> Message {
        Message::Publish {
            request: 1,
            options: Dict::new(),
            topic: "com.example".into(),
            payload: Payload::new(vec![Value::Bytes(vec![1, 2])], Dict::new()),
        }
    }

    #[test]
    fn json_round_trip_leaves_out_empty_kwargs() {
        let bytes = Serialization::Json.encode(&publish());
        assert_eq!(&bytes[..], br#"[16,1,{},"com.example",["\u0000AQI="]]"#);
        let back = Serialization::Json.decode(&bytes).unwrap();
        let Message::Publish { payload, .. } = back else {
            panic!()
        };
        assert_eq!(payload.args, Some(vec![Value::Bytes(vec![1, 2])]));
    }

    #[test]
    fn msgpack_round_trip() {
        let bytes = Serialization::MsgPack.encode(&publish());
        let back = Serialization::MsgPack.decode(&bytes).unwrap();
        let Message::Publish { topic, payload, .. } = back else {
            panic!()
        };
        assert_eq!(topic, "com.example");
        assert_eq!(payload.args, Some(vec![Value::Bytes(vec![1, 2])]));
    }

    #[test]
    fn event_ref_encodes_like_event() {
        let payload = Payload::new(vec![Value::Int(1)], Dict::new());
        let details = Dict::new();
        let owned = Message::Event {
            subscription: 5,
            publication: 6,
            details: details.clone(),
            payload: payload.clone(),
        };
        let borrowed = crate::wamp::message::EventRef {
            subscription: 5,
            publication: 6,
            details: &details,
            payload: &payload,
        };
        for s in [Serialization::Json, Serialization::MsgPack] {
            assert_eq!(s.encode(&owned), s.encode_any(&borrowed));
        }
    }

    #[test]
    fn kwargs_without_args_writes_empty_args() {
        let mut kwargs = Dict::new();
        kwargs.insert("a".into(), Value::Int(1));
        let msg = Message::Result {
            request: 7,
            details: Dict::new(),
            payload: Payload {
                args: None,
                kwargs: Some(kwargs),
            },
        };
        assert_eq!(
            &Serialization::Json.encode(&msg)[..],
            br#"[50,7,{},[],{"a":1}]"#
        );
    }

    #[test]
    fn batched_json_frames_split_and_build() {
        let sp = Subprotocol::parse("wamp.2.json.batched").unwrap();
        let mut frame = BytesMut::new();
        sp.append(&mut frame, b"[1]", JSON_SEPARATOR);
        sp.append(&mut frame, b"[2]", JSON_SEPARATOR);
        assert_eq!(&frame[..], b"[1]\x1e[2]\x1e");
        assert_eq!(sp.split(&frame).unwrap(), vec![&b"[1]"[..], &b"[2]"[..]]);
        assert_eq!(json_separator_of(&frame), Some(JSON_SEPARATOR));
    }

    #[test]
    fn batched_json_accepts_autobahn_python_separator() {
        let sp = Subprotocol::parse("wamp.2.json.batched").unwrap();
        let frame = b"[1]\x18[2]\x18";
        assert_eq!(sp.split(frame).unwrap(), vec![&b"[1]"[..], &b"[2]"[..]]);
        assert_eq!(
            json_separator_of(frame),
            Some(AUTOBAHN_PYTHON_JSON_SEPARATOR)
        );
        let mut out = BytesMut::new();
        sp.append(&mut out, b"[3]", AUTOBAHN_PYTHON_JSON_SEPARATOR);
        assert_eq!(&out[..], b"[3]\x18");
        assert_eq!(json_separator_of(b"[1]"), None);
    }

    #[test]
    fn batched_msgpack_frames_split_and_build() {
        let sp = Subprotocol::parse("wamp.2.msgpack.batched").unwrap();
        let mut frame = BytesMut::new();
        sp.append(&mut frame, b"\x91\x01", JSON_SEPARATOR);
        sp.append(&mut frame, b"\x91\x02", JSON_SEPARATOR);
        assert_eq!(&frame[..], b"\0\0\0\x02\x91\x01\0\0\0\x02\x91\x02");
        assert_eq!(
            sp.split(&frame).unwrap(),
            vec![&b"\x91\x01"[..], &b"\x91\x02"[..]]
        );
        assert!(sp.split(b"\0\0\0\x05\x91").is_err());
        assert!(sp.split(b"\0\0").is_err());
    }

    #[test]
    fn subprotocol_names_round_trip() {
        for name in [
            "wamp.2.json",
            "wamp.2.json.batched",
            "wamp.2.msgpack",
            "wamp.2.msgpack.batched",
        ] {
            assert_eq!(Subprotocol::parse(name).unwrap().name(), name);
        }
        assert_eq!(Subprotocol::parse("wamp.2.cbor"), None);
    }

    #[test]
    fn garbage_is_a_protocol_violation_not_a_panic() {
        for input in [
            &b""[..],
            b"{}",
            b"[]",
            b"[999]",
            b"[1]",
            b"[\"x\"]",
            b"[16,0,{},\"t\"]",
            b"\xc1",
        ] {
            assert!(Serialization::Json.decode(input).is_err(), "{input:?}");
            assert!(Serialization::MsgPack.decode(input).is_err(), "{input:?}");
        }
    }
}

#[cfg(test)]
mod hostile_input {
    use super::*;

    /// Deeply nested input must be refused or decoded, never overflow the stack. Run on a
    /// thread with a tokio worker's default stack (2 MiB).
    #[test]
    fn deep_nesting_does_not_overflow() {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(|| {
                let mut packed = vec![0x91u8; 100_000];
                packed.push(0xc0);
                assert!(Serialization::MsgPack.decode(&packed).is_err());
                let json = "[".repeat(100_000);
                assert!(Serialization::Json.decode(json.as_bytes()).is_err());
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
