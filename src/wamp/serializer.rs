//! Serializers: WAMP messages to and from bytes in JSON, MessagePack and CBOR, the WebSocket
//! subprotocols that select them, and the batched framing of each.
//!
//! JSON goes in text frames, MessagePack and CBOR in binary frames. Batched variants pack
//! several messages into one frame: JSON messages each followed by a separator, MessagePack
//! and CBOR messages each prefixed by a big-endian u32 length (the spec describes
//! `wamp.2.msgpack.batched`; autobahn-python and Crossbar frame `wamp.2.cbor.batched` the same
//! way).
//!
//! The spec's JSON separator is 0x1E, but autobahn-python (and so Crossbar) writes and expects
//! 0x18 (its source says `"\30"`, an octal escape). Junction reads both (neither byte can occur
//! unescaped in JSON text) and answers with the one the client used.
//!
//! Bytes and strings stay apart in every serialization (see [`Value`]): JSON `"\u0000"` +
//! base64, MessagePack `bin`, CBOR byte strings (major type 2).
//!
//! Integers of any size travel exactly between JSON (decimal literals, read by
//! [`json`](crate::wamp::json)) and CBOR (bignums). MessagePack has no integers beyond 64
//! bits: encoding one for a MessagePack peer fails ([`Serialization::try_encode`] says so with
//! an [`EncodeError`]; [`Serialization::encode`] logs it and gives an empty frame) rather than
//! writing something the peer would read as another value.
//!
//! CBOR uses `ciborium`: it is serde-based, so the `Serialize`/`Deserialize` impls of
//! [`Value`] and the messages serve all three serializations unchanged (bytes vs strings keyed
//! on `is_human_readable`), and its deserializer has a recursion limit, which hostile input
//! needs. `serde_cbor` is unmaintained (archived, RUSTSEC-2021-0127); `minicbor` is maintained
//! and faster, but its serde support is a separate crate and decoding into [`Value`] would be
//! hand-written. Measured on a 110-byte EVENT (release build): ciborium encodes in ~0.5 us, as
//! fast as rmp-serde, and decodes in ~3.4 us against ~1.5 us. Fan-out only encodes (once per
//! serialization), so that cost falls on inbound messages alone; worth one code path for all
//! three serializations.
//!
//! What the CBOR decoder accepts: unsigned and negative integers, bignums (tags 2 and 3 on a
//! byte string of any length, definite or indefinite; one that fits 64 bits is the plain
//! integer, and a tag 2 or 3 on anything but a byte string is a decode error), half, single
//! and double floats, text and byte strings, arrays, maps whose keys are text strings (any
//! other key is a decode error), definite and indefinite lengths, `undefined` as null. Other
//! tags are dropped and their content kept as it is (a timestamp, tag 0, arrives as its text;
//! embedded CBOR, tag 24, as bytes; a decimal fraction, tag 4, as its [exponent, mantissa]
//! list), as RFC 8949 allows a generic decoder to do: WAMP defines no tags, and a peer that
//! sends some (cbor2 does for dates, decimals, ...) still gets through instead of losing its
//! session. Nothing is read past the one item a message is: trailing bytes are an error. The
//! encoder writes bignums with minimal bytes and integers from -2^64 up without a tag, so a
//! canonical bignum comes back byte for byte.

use bytes::{BufMut, Bytes, BytesMut};

use crate::wamp::message::{Message, ProtocolViolation};
use crate::wamp::value::{BigIntForm, Value, refused_bigint_digits, with_bigint_form};

/// The encoding of one message (framing aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Serialization {
    Json,
    MsgPack,
    Cbor,
}

/// Deepest nesting of lists and dicts accepted in a message (serde_json's own limit; the
/// MessagePack and CBOR decoders and JSON's exact path are held to the same, a CBOR tag
/// counting as one level).
pub(super) const MAX_DEPTH: usize = 128;

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
pub const SERIALIZATIONS: usize = 3;

impl Serialization {
    /// Every serialization, in [`index`](Self::index) order.
    pub const ALL: [Serialization; SERIALIZATIONS] = [
        Serialization::Json,
        Serialization::MsgPack,
        Serialization::Cbor,
    ];

    /// Index for per-serialization caches.
    pub fn index(self) -> usize {
        match self {
            Serialization::Json => 0,
            Serialization::MsgPack => 1,
            Serialization::Cbor => 2,
        }
    }

    /// The serializer number of the RawSocket handshake (`S` in `0x7F, LLLL SSSS, 0, 0`).
    pub fn rawsocket_id(self) -> u8 {
        match self {
            Serialization::Json => 1,
            Serialization::MsgPack => 2,
            Serialization::Cbor => 3,
        }
    }

    /// The serialization a RawSocket handshake asks for; `None` for numbers Junction does not
    /// serve (4 UBJSON, 5 FlatBuffers, 0 and the rest).
    pub fn from_rawsocket_id(id: u8) -> Option<Serialization> {
        Serialization::ALL
            .into_iter()
            .find(|s| s.rawsocket_id() == id)
    }

    /// Whether frames are WebSocket text (JSON) or binary (MessagePack, CBOR).
    pub fn is_text(self) -> bool {
        self == Serialization::Json
    }

    /// Whether integers beyond 64 bits can be sent in this serialization: JSON (a decimal
    /// literal) and CBOR (a bignum) can, MessagePack cannot.
    pub fn carries_bigints(self) -> bool {
        self != Serialization::MsgPack
    }

    /// `msg` encoded; an encode that fails (a `BigInt` for a MessagePack peer) is logged and
    /// gives an empty frame. [`try_encode`](Self::try_encode) says why instead.
    pub fn encode(self, msg: &Message) -> Bytes {
        self.encode_any(msg)
    }

    /// Encodes anything that serializes as a WAMP message list (e.g. a borrowed EVENT), as
    /// [`encode`](Self::encode) does.
    pub fn encode_any<T: serde::Serialize>(self, msg: &T) -> Bytes {
        self.try_encode_any(msg)
            .unwrap_or_else(|e| failed_encode(self, e))
    }

    /// `msg` encoded, or why it cannot be in this serialization.
    pub fn try_encode(self, msg: &Message) -> Result<Bytes, EncodeError> {
        self.try_encode_any(msg)
    }

    /// [`try_encode`](Self::try_encode) for anything that serializes as a WAMP message list.
    pub fn try_encode_any<T: serde::Serialize>(self, msg: &T) -> Result<Bytes, EncodeError> {
        match self {
            // Keys are strings and floats that JSON cannot hold (NaN, inf) are written as null
            // by serde_json, so this does not fail for WAMP values.
            Serialization::Json => serde_json::to_vec(msg)
                .map(Bytes::from)
                .map_err(|e| EncodeError::Failed(e.to_string())),
            Serialization::MsgPack => with_bigint_form(BigIntForm::Refuse, || {
                rmp_serde::to_vec(msg).map_err(|e| match refused_bigint_digits() {
                    Some(digits) => EncodeError::BigIntInMsgPack { digits },
                    None => EncodeError::Failed(e.to_string()),
                })
            })
            .map(Bytes::from),
            Serialization::Cbor => {
                let mut out = Vec::with_capacity(64);
                with_bigint_form(BigIntForm::CborTag, || ciborium::into_writer(msg, &mut out))
                    .map_err(|e| EncodeError::Failed(e.to_string()))?;
                Ok(Bytes::from(out))
            }
        }
    }

    pub fn decode(self, bytes: &[u8]) -> Result<Message, ProtocolViolation> {
        let value: Value = match self {
            Serialization::Json => crate::wamp::json::decode(bytes)
                .map_err(|e| ProtocolViolation(format!("invalid JSON: {e}")))?,
            Serialization::MsgPack => decode_msgpack(bytes)
                .map_err(|e| ProtocolViolation(format!("invalid MessagePack: {e}")))?,
            Serialization::Cbor => {
                decode_cbor(bytes).map_err(|e| ProtocolViolation(format!("invalid CBOR: {e}")))?
            }
        };
        Message::from_value(value)
    }
}

/// Why a message cannot be encoded. The payload itself is never quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message carries an integer beyond 64 bits, which MessagePack has no type for.
    #[error("MessagePack has no integers beyond 64 bits (a value of {digits} digits)")]
    BigIntInMsgPack { digits: usize },
    /// The serializer failed otherwise (not expected for WAMP messages).
    #[error("{0}")]
    Failed(String),
}

/// One MessagePack item as a [`Value`], the whole input and nothing more (as JSON and CBOR).
fn decode_msgpack(mut bytes: &[u8]) -> Result<Value, String> {
    let value: Value = {
        // A reader over the slice advances it, so what is left afterwards is trailing data
        // (`from_read_ref` would borrow strings instead of copying them, but keeps its position
        // to itself; `Value` owns its strings either way).
        let mut de = rmp_serde::Deserializer::new(&mut bytes);
        // The same nesting limit serde_json applies, so hostile input cannot exhaust the stack.
        de.set_max_depth(MAX_DEPTH);
        serde::Deserialize::deserialize(&mut de).map_err(|e| e.to_string())?
    };
    if !bytes.is_empty() {
        return Err(format!(
            "trailing data after the message ({} bytes)",
            bytes.len()
        ));
    }
    Ok(value)
}

/// One CBOR item as a [`Value`], the whole input and nothing more.
fn decode_cbor(bytes: &[u8]) -> Result<Value, String> {
    match read_cbor(bytes) {
        Err(ciborium::de::Error::Semantic(None, message)) if message == BIGNUM_TOO_LARGE => {
            let widened = widen_large_negative_bignums(bytes).ok_or(BIGNUM_TOO_LARGE)?;
            read_cbor(&widened).map_err(cbor_error)
        }
        result => result.map_err(cbor_error),
    }
}

fn read_cbor(mut bytes: &[u8]) -> Result<Value, ciborium::de::Error<std::io::Error>> {
    // The reader advances the slice, so what is left afterwards is trailing data.
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut bytes, MAX_DEPTH)?;
    if !bytes.is_empty() {
        return Err(ciborium::de::Error::Semantic(
            None,
            format!("trailing data after the message ({} bytes)", bytes.len()),
        ));
    }
    Ok(value)
}

/// What ciborium says of a tag 3 bignum whose 16 bytes have the top bit set (-2^127 - 1 down
/// to -2^128): it reads bignums of up to 16 bytes as an `i128` itself, and `-1 - n` does not
/// fit one. Longer bignums reach [`Value`]'s visitor, which reads any length.
const BIGNUM_TOO_LARGE: &str = "integer too large";

/// `bytes` with every such tag 3 bignum given a leading zero byte (17 bytes, same value), so
/// that ciborium hands it over; `None` when there is none, or the input is malformed.
fn widen_large_negative_bignums(bytes: &[u8]) -> Option<Vec<u8>> {
    use ciborium_ll::{Decoder, Header};
    let mut out = Vec::with_capacity(bytes.len() + 8);
    let mut widened = false;
    let mut after_negative_tag = false;
    let mut at = 0;
    // Headers follow one another flat (arrays and maps only announce a count), each string
    // header followed by its content.
    while at < bytes.len() {
        let mut decoder = Decoder::from(&bytes[at..]);
        let header = decoder.pull().ok()?;
        let content = at + decoder.offset();
        let end = match header {
            Header::Bytes(Some(len)) | Header::Text(Some(len)) => content.checked_add(len)?,
            _ => content,
        };
        let item = bytes.get(at..end)?;
        if after_negative_tag && header == Header::Bytes(Some(16)) && bytes[content] >= 0x80 {
            out.extend_from_slice(&[0x51, 0x00]);
            out.extend_from_slice(&bytes[content..end]);
            widened = true;
        } else {
            out.extend_from_slice(item);
        }
        after_negative_tag = header == Header::Tag(3);
        at = end;
    }
    widened.then_some(out)
}

/// ciborium's errors display as their Debug form; say it in words instead.
fn cbor_error(e: ciborium::de::Error<std::io::Error>) -> String {
    use ciborium::de::Error;
    match e {
        Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "truncated (the input ends inside an item)".into()
        }
        Error::Io(e) => e.to_string(),
        Error::Syntax(offset) => format!("malformed item at byte {offset}"),
        Error::Semantic(Some(offset), message) => format!("{message} (at byte {offset})"),
        Error::Semantic(None, message) => message,
        Error::RecursionLimitExceeded => format!("nested deeper than {MAX_DEPTH} levels"),
    }
}

#[cold]
fn failed_encode(serialization: Serialization, e: EncodeError) -> Bytes {
    // Logged, and an empty frame rather than a panic: the peer fails loudly instead of the
    // router crashing. Callers that can do better use `try_encode`.
    tracing::error!("failed to encode a message in {serialization:?}: {e}");
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
            "wamp.2.cbor" => (Serialization::Cbor, false),
            "wamp.2.cbor.batched" => (Serialization::Cbor, true),
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
            (Serialization::Cbor, false) => "wamp.2.cbor",
            (Serialization::Cbor, true) => "wamp.2.cbor.batched",
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
            Serialization::MsgPack | Serialization::Cbor => split_length_prefixed(frame),
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
            (true, Serialization::MsgPack | Serialization::Cbor) => {
                frame.put_u32(message.len() as u32);
                frame.put_slice(message);
            }
        }
    }
}

/// Batched binary frames: each message prefixed by its length as a big-endian u32.
fn split_length_prefixed(mut frame: &[u8]) -> Result<Vec<&[u8]>, ProtocolViolation> {
    let mut messages = Vec::new();
    while !frame.is_empty() {
        let Some((len, rest)) = frame.split_first_chunk::<4>() else {
            return Err(ProtocolViolation(
                "batched frame: truncated length prefix".into(),
            ));
        };
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err(ProtocolViolation(
                "batched frame: message shorter than its length".into(),
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
        for s in Serialization::ALL {
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
    fn batched_cbor_frames_split_and_build() {
        let sp = Subprotocol::parse("wamp.2.cbor.batched").unwrap();
        let one = Serialization::Cbor.encode(&publish());
        let two = Serialization::Cbor.encode(&Message::Unsubscribed { request: 9 });
        let mut frame = BytesMut::new();
        sp.append(&mut frame, &one, JSON_SEPARATOR);
        sp.append(&mut frame, &two, JSON_SEPARATOR);
        assert_eq!(&frame[..4], (one.len() as u32).to_be_bytes());
        assert_eq!(frame.len(), 8 + one.len() + two.len());
        let parts = sp.split(&frame).unwrap();
        assert_eq!(parts, vec![&one[..], &two[..]]);
        assert_eq!(
            Serialization::Cbor.decode(parts[1]).unwrap(),
            Message::Unsubscribed { request: 9 }
        );
        assert!(sp.split(&frame[..frame.len() - 1]).is_err());
        assert!(sp.split(b"\0\0\0").is_err());
        // A declared length far beyond the frame is refused, not trusted.
        assert!(sp.split(b"\xff\xff\xff\xff\x83").is_err());
        // Unbatched CBOR: the frame is the message.
        let plain = Subprotocol::parse("wamp.2.cbor").unwrap();
        let mut frame = BytesMut::new();
        plain.append(&mut frame, &one, JSON_SEPARATOR);
        assert_eq!(&frame[..], &one[..]);
        assert_eq!(plain.split(&frame).unwrap(), vec![&one[..]]);
    }

    #[test]
    fn rawsocket_serializer_ids() {
        assert_eq!(Serialization::Json.rawsocket_id(), 1);
        assert_eq!(Serialization::MsgPack.rawsocket_id(), 2);
        assert_eq!(Serialization::Cbor.rawsocket_id(), 3);
        for s in Serialization::ALL {
            assert_eq!(Serialization::from_rawsocket_id(s.rawsocket_id()), Some(s));
        }
        for id in [0, 4, 5, 15] {
            assert_eq!(Serialization::from_rawsocket_id(id), None);
        }
    }

    #[test]
    fn indexes_cover_every_serialization() {
        for (i, s) in Serialization::ALL.into_iter().enumerate() {
            assert_eq!(s.index(), i);
        }
    }

    #[test]
    fn subprotocol_names_round_trip() {
        for name in [
            "wamp.2.json",
            "wamp.2.json.batched",
            "wamp.2.msgpack",
            "wamp.2.msgpack.batched",
            "wamp.2.cbor",
            "wamp.2.cbor.batched",
        ] {
            assert_eq!(Subprotocol::parse(name).unwrap().name(), name);
        }
        let cbor = Subprotocol::parse("wamp.2.cbor.batched").unwrap();
        assert_eq!(cbor.serialization, Serialization::Cbor);
        assert!(cbor.batched && !cbor.serialization.is_text());
        assert_eq!(Subprotocol::parse("wamp.2.ubjson"), None);
        assert_eq!(Subprotocol::parse("wamp.2.cbor.split"), None);
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
            for s in Serialization::ALL {
                assert!(s.decode(input).is_err(), "{s:?} {input:?}");
            }
        }
    }
}

#[cfg(test)]
mod hostile_input {
    use super::*;
    use crate::wamp::value::Dict;

    /// A message is the whole input in every serialization: bytes after it are refused, as
    /// JSON and CBOR always did (issue 12, item 8: MessagePack accepted them).
    #[test]
    fn trailing_bytes_are_refused_in_every_serialization() {
        let msg = Message::Goodbye {
            details: Dict::new(),
            reason: "wamp.close.normal".into(),
        };
        for serialization in Serialization::ALL {
            let mut bytes = serialization.encode(&msg).to_vec();
            assert_eq!(
                serialization.decode(&bytes),
                Ok(msg.clone()),
                "{serialization:?}"
            );
            bytes.push(if serialization.is_text() { b'1' } else { 0x01 });
            let e = serialization.decode(&bytes).unwrap_err();
            assert!(e.0.contains("trailing"), "{serialization:?}: {}", e.0);
        }
    }

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
                // JSON's exact path, taken for a long run of digits.
                let json = format!("[12345678901234567890123,{json}");
                assert!(Serialization::Json.decode(json.as_bytes()).is_err());
                // CBOR: definite arrays, indefinite arrays, maps and tags, each nested deep.
                let mut arrays = vec![0x81u8; 100_000];
                arrays.push(0xf6);
                let indefinite = vec![0x9fu8; 100_000];
                let maps: Vec<u8> = [0xa1u8, 0x61, b'k'].repeat(100_000);
                let mut tags = vec![0xc6u8; 100_000];
                tags.push(0x01);
                for input in [arrays, indefinite, maps, tags] {
                    let e = Serialization::Cbor.decode(&input).unwrap_err();
                    assert!(e.0.contains("nested deeper than 128"), "{e}");
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }
}

#[cfg(test)]
mod cbor {
    use super::*;
    use crate::wamp::message::{EventRef, Payload};
    use crate::wamp::value::Dict;

    fn dict(pairs: &[(&str, Value)]) -> Dict {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    /// Arguments that exercise every kind of value, bytes at several depths.
    fn args() -> Vec<Value> {
        vec![
            Value::Bytes(vec![0, 1, 2, 255]),
            Value::Bytes(Vec::new()),
            Value::from("text ü€"),
            Value::String(String::new()),
            Value::Null,
            Value::Bool(true),
            Value::Bool(false),
            Value::Int(0),
            Value::Int(-1),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::UInt(u64::MAX),
            Value::Float(0.25),
            Value::Float(-1.5e300),
            Value::Float(0.1),
            Value::List(vec![
                Value::Bytes(b"in a list".to_vec()),
                Value::List(Vec::new()),
            ]),
            Value::Dict(dict(&[
                ("blob", Value::Bytes(vec![7; 300])),
                ("nested", Value::Dict(dict(&[("x", Value::Int(1))]))),
            ])),
        ]
    }

    fn kwargs() -> Dict {
        dict(&[
            ("blob", Value::Bytes(vec![0xde, 0xad])),
            ("list", Value::List(args())),
            ("s", Value::from("plain")),
        ])
    }

    fn full() -> Payload {
        Payload::new(args(), kwargs())
    }

    fn args_only() -> Payload {
        Payload {
            args: Some(args()),
            kwargs: None,
        }
    }

    /// One message of every type, payloads as they come back after decoding (empty
    /// Arguments/ArgumentsKw are left out when encoding).
    pub(super) fn every_message() -> Vec<Message> {
        let opts = dict(&[
            ("acknowledge", Value::Bool(true)),
            ("exclude", Value::List(vec![Value::Int(1 << 53)])),
        ]);
        vec![
            Message::Hello {
                realm: "realm1".into(),
                details: dict(&[(
                    "roles",
                    Value::Dict(dict(&[("caller", Value::Dict(Dict::new()))])),
                )]),
            },
            Message::Welcome {
                session: 1 << 53,
                details: dict(&[("authid", Value::from("joe"))]),
            },
            Message::Abort {
                details: dict(&[("message", Value::from("no"))]),
                reason: "wamp.error.no_such_realm".into(),
            },
            Message::Challenge {
                authmethod: "wampcra".into(),
                extra: dict(&[("challenge", Value::from("{}"))]),
            },
            Message::Authenticate {
                signature: "c2lnbmF0dXJl".into(),
                extra: Dict::new(),
            },
            Message::Goodbye {
                details: Dict::new(),
                reason: "wamp.close.goodbye_and_out".into(),
            },
            Message::Error {
                request_type: 48,
                request: 2,
                details: Dict::new(),
                error: "com.example.error".into(),
                payload: full(),
            },
            Message::Publish {
                request: 3,
                options: opts.clone(),
                topic: "com.example.topic".into(),
                payload: full(),
            },
            Message::Published {
                request: 3,
                publication: 4,
            },
            Message::Subscribe {
                request: 5,
                options: dict(&[("match", Value::from("prefix"))]),
                topic: "com.example".into(),
            },
            Message::Subscribed {
                request: 5,
                subscription: 6,
            },
            Message::Unsubscribe {
                request: 7,
                subscription: 6,
            },
            Message::Unsubscribed { request: 7 },
            Message::Event {
                subscription: 6,
                publication: 4,
                details: dict(&[("topic", Value::from("com.example.topic"))]),
                payload: args_only(),
            },
            Message::Call {
                request: 8,
                options: dict(&[("timeout", Value::Int(1000))]),
                procedure: "com.example.add".into(),
                payload: full(),
            },
            Message::Cancel {
                request: 8,
                options: dict(&[("mode", Value::from("kill"))]),
            },
            Message::Result {
                request: 8,
                details: dict(&[("progress", Value::Bool(true))]),
                payload: Payload {
                    args: Some(Vec::new()),
                    kwargs: Some(kwargs()),
                },
            },
            Message::Register {
                request: 9,
                options: Dict::new(),
                procedure: "com.example.add".into(),
            },
            Message::Registered {
                request: 9,
                registration: 10,
            },
            Message::Unregister {
                request: 11,
                registration: 10,
            },
            Message::Unregistered { request: 11 },
            Message::Invocation {
                request: 12,
                registration: 10,
                details: Dict::new(),
                payload: full(),
            },
            Message::Interrupt {
                request: 12,
                options: dict(&[("mode", Value::from("killnowait"))]),
            },
            Message::Yield {
                request: 12,
                options: Dict::new(),
                payload: Payload::default(),
            },
        ]
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode_err(bytes: &[u8]) -> String {
        match Serialization::Cbor.decode(bytes) {
            Ok(msg) => panic!("{bytes:02x?} decoded to {msg:?}"),
            Err(e) => e.0,
        }
    }

    pub(super) fn args_of(msg: Message) -> Vec<Value> {
        match msg {
            Message::Event { payload, .. } | Message::Publish { payload, .. } => {
                payload.args.unwrap()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_message_type_round_trips_in_every_serialization() {
        let messages = every_message();
        assert_eq!(messages.len(), 24);
        for msg in &messages {
            for s in Serialization::ALL {
                let bytes = s.encode(msg);
                let back = s
                    .decode(&bytes)
                    .unwrap_or_else(|e| panic!("{s:?} {msg:?}: {e}"));
                assert_eq!(&back, msg, "{s:?}");
            }
        }
    }

    /// A message read in one serialization and written in another is the same message, bytes
    /// included: CBOR byte strings <-> msgpack bin <-> JSON "\u0000" + base64.
    #[test]
    fn every_message_converts_between_serializations() {
        for msg in every_message() {
            for from in Serialization::ALL {
                let decoded = from.decode(&from.encode(&msg)).unwrap();
                for to in Serialization::ALL {
                    let again = to.decode(&to.encode(&decoded)).unwrap();
                    assert_eq!(again, msg, "{from:?} -> {to:?}");
                }
            }
        }
    }

    #[test]
    fn bytes_are_cbor_byte_strings_and_strings_text() {
        let msg = Message::Event {
            subscription: 1,
            publication: 2,
            details: Dict::new(),
            payload: Payload {
                args: Some(vec![
                    Value::Bytes(vec![0, 1, 2]),
                    Value::from("plain"),
                    // In CBOR a string that looks like JSON's bytes form stays a string.
                    Value::from("\0AAEC"),
                ]),
                kwargs: None,
            },
        };
        let bytes = Serialization::Cbor.encode(&msg);
        // array(5) 36 1 2 map(0) array(3) bytes(3) 00 01 02 text(5) "plain" text(5) "\0AAEC"
        assert_eq!(
            &bytes[..],
            &hex("85 1824 01 02 a0 83 43000102 65706c61696e 6500414145 43")[..]
        );
        assert_eq!(Serialization::Cbor.decode(&bytes).unwrap(), msg);
        // The JSON peer gets the bytes as "\u0000" + base64, and its bytes come back as a
        // CBOR byte string.
        let via_json = Serialization::Json.encode(&Serialization::Cbor.decode(&bytes).unwrap());
        assert!(via_json.starts_with(br#"[36,1,2,{},["\u0000AAEC","plain""#));
        let cbor_from_json = Serialization::Cbor.encode(&Message::Event {
            subscription: 1,
            publication: 2,
            details: Dict::new(),
            payload: Payload {
                args: Some(vec![Value::Bytes(vec![0, 1, 2])]),
                kwargs: None,
            },
        });
        let json_msg = Serialization::Json
            .decode(br#"[36,1,2,{},["\u0000AAEC"]]"#)
            .unwrap();
        assert_eq!(Serialization::Cbor.encode(&json_msg), cbor_from_json);
    }

    #[test]
    fn encodes_integers_and_floats_compactly() {
        let msg = Message::Event {
            subscription: 1,
            publication: 2,
            details: Dict::new(),
            payload: Payload {
                args: Some(vec![
                    Value::Int(-1),
                    Value::Int(i64::MIN),
                    Value::UInt(u64::MAX),
                    Value::Float(1.5),
                ]),
                kwargs: None,
            },
        };
        let bytes = Serialization::Cbor.encode(&msg);
        // -1 is 0x20; i64::MIN is major type 1 with 2^63 - 1; u64::MAX major type 0; 1.5 fits
        // a half-precision float exactly.
        assert_eq!(
            &bytes[6..],
            &hex("84 20 3b7fffffffffffffff 1bffffffffffffffff f93e00")[..]
        );
        assert_eq!(Serialization::Cbor.decode(&bytes).unwrap(), msg);
    }

    #[test]
    fn indefinite_lengths_decode() {
        // [_ 36, 1, 2, {_ "k": (_ h'00', h'01')}, [_ (_ "pl", "ain"), h'02']]
        let bytes = hex("9f 1824 01 02
               bf 616b 5f 4100 4101 ff ff
               9f 7f 62706c 6361696e ff 4102 ff
             ff");
        let msg = Serialization::Cbor.decode(&bytes).unwrap();
        let Message::Event {
            details, payload, ..
        } = msg
        else {
            panic!("{msg:?}")
        };
        assert_eq!(details, dict(&[("k", Value::Bytes(vec![0, 1]))]));
        assert_eq!(
            payload.args,
            Some(vec![Value::from("plain"), Value::Bytes(vec![2])])
        );
    }

    #[test]
    fn other_encodings_of_numbers_decode() {
        // Half, single and double floats; integers in every width; undefined is null.
        let bytes = hex("85 1824 01 02 a0
             8a f93c00 fa3fc00000 fb3ff8000000000000 18ff 19ffff 1affffffff
                3b7fffffffffffffff 1bffffffffffffffff f7 f6");
        assert_eq!(
            args_of(Serialization::Cbor.decode(&bytes).unwrap()),
            vec![
                Value::Float(1.0),
                Value::Float(1.5),
                Value::Float(1.5),
                Value::Int(255),
                Value::Int(65535),
                Value::Int(u32::MAX.into()),
                Value::Int(i64::MIN),
                Value::UInt(u64::MAX),
                Value::Null,
                Value::Null,
            ]
        );
        // Ids written as 16/32/64-bit integers are the same ids.
        let msg = Serialization::Cbor
            .decode(&hex("83 1821 1b0000000000000005 1a00000006"))
            .unwrap();
        assert_eq!(
            msg,
            Message::Subscribed {
                request: 5,
                subscription: 6
            }
        );
    }

    /// An EVENT whose Arguments are the one CBOR item `item` (hex).
    pub(super) fn event_with(item: &str) -> Vec<u8> {
        hex(&format!("85 1824 01 02 a0 81 {item}"))
    }

    pub(super) fn big(decimal: &str) -> Value {
        Value::from_bigint(decimal.parse().unwrap())
    }

    #[test]
    fn integers_beyond_64_bits_round_trip_byte_for_byte() {
        let ff = |n: usize| "ff".repeat(n);
        for (item, expected) in [
            // 2^128 - 1 (what autobahn.js sends for BigInt(2n ** 128n - 1n)) and -2^128.
            (
                format!("c2 50 {}", ff(16)),
                "340282366920938463463374607431768211455",
            ),
            (
                format!("c3 50 {}", ff(16)),
                "-340282366920938463463374607431768211456",
            ),
            // Either side of where ciborium stops reading a tag 3 bignum as an i128 itself.
            (
                format!("c3 50 7f {}", ff(15)),
                "-170141183460469231731687303715884105728",
            ),
            (
                format!("c3 50 80 {}", "00".repeat(15)),
                "-170141183460469231731687303715884105729",
            ),
            // 2^64, the smallest bignum, and 200 bits either way.
            ("c2 49 01 0000000000000000".into(), "18446744073709551616"),
            (
                format!("c2 58 19 {}", ff(25)),
                "1606938044258990275541962092341162602522202993782792835301375",
            ),
            (
                format!("c3 58 19 80 {}", "00".repeat(24)),
                "-803469022129495137770981046170581301261101496891396417650689",
            ),
            // -2^64 is a plain CBOR negative integer (major type 1 with 2^64 - 1).
            (format!("3b {}", ff(8)), "-18446744073709551616"),
        ] {
            let bytes = event_with(&item);
            let msg = Serialization::Cbor.decode(&bytes).unwrap();
            let args = args_of(msg.clone());
            assert_eq!(args, vec![big(expected)], "{item}");
            assert!(matches!(args[0], Value::BigInt(_)), "{item}");
            assert_eq!(Serialization::Cbor.encode(&msg), bytes, "{item}");
        }
    }

    #[test]
    fn bignums_that_fit_64_bits_are_integers() {
        for (item, expected) in [
            ("c2 41 05", Value::Int(5)),
            ("c3 41 04", Value::Int(-5)),
            ("c2 48 ffffffffffffffff", Value::UInt(u64::MAX)),
            ("c3 48 7fffffffffffffff", Value::Int(i64::MIN)),
            ("c2 40", Value::Int(0)),
            // Leading zeros, longer than ciborium reads itself, and indefinite lengths.
            ("c2 51 00000000000000000000000000000000 05", Value::Int(5)),
            ("c3 5f 41 00 41 04 ff", Value::Int(-5)),
        ] {
            let args = args_of(Serialization::Cbor.decode(&event_with(item)).unwrap());
            assert_eq!(args, vec![expected], "{item}");
        }
        // An indefinite-length bignum beyond 64 bits.
        let args = args_of(
            Serialization::Cbor
                .decode(&event_with("c3 5f 48 ffffffffffffffff 41 ff ff"))
                .unwrap(),
        );
        assert_eq!(args, vec![big("-4722366482869645213696")]);
        let minus_2_128 = format!("c3 5f 50 {} ff", "ff".repeat(16));
        let args = args_of(
            Serialization::Cbor
                .decode(&event_with(&minus_2_128))
                .unwrap(),
        );
        assert_eq!(args, vec![big("-340282366920938463463374607431768211456")]);
    }

    /// The input is rewritten for ciborium around such a bignum: strings, maps, tags and
    /// other bignums around it come through unchanged.
    #[test]
    fn large_negative_bignums_among_other_items() {
        let minus_2_128 = format!("c3 50 {}", "ff".repeat(16));
        let bytes = hex(&format!(
            "85 1824 01 02 a1 61 6b {minus_2_128}
             86 53 c350 {} 00 63 c38350 {minus_2_128} 9f {minus_2_128} ff c1 1a514b67b0
                c3 50 80 {}",
            "ff".repeat(16),
            "00".repeat(15)
        ));
        let msg = Serialization::Cbor.decode(&bytes).unwrap();
        let Message::Event {
            details, payload, ..
        } = &msg
        else {
            panic!("{msg:?}")
        };
        let minus_2_128 = big("-340282366920938463463374607431768211456");
        assert_eq!(details, &dict(&[("k", minus_2_128.clone())]));
        assert_eq!(
            payload.args,
            Some(vec![
                Value::Bytes([&[0xc3, 0x50][..], &[0xff; 16], &[0]].concat()),
                Value::from("ÃP"),
                minus_2_128.clone(),
                Value::List(vec![minus_2_128]),
                Value::Int(1363896240),
                big("-170141183460469231731687303715884105729"),
            ])
        );
        // Truncated or followed by more, it is still an error.
        for bad in [&bytes[..bytes.len() - 1], &[&bytes[..], &[0]].concat()] {
            assert!(decode_err(bad).starts_with("invalid CBOR: "));
        }
    }

    #[test]
    fn bignums_must_hold_byte_strings() {
        for item in ["c2 63 616263", "c3 80", "c2 01", "c3 f6", "c2 7f 61 61 ff"] {
            let e = decode_err(&event_with(item));
            assert!(e.starts_with("invalid CBOR: "), "{item}: {e}");
            assert!(e.contains("not a byte string"), "{item}: {e}");
        }
    }

    #[test]
    fn tags_are_dropped_and_their_content_kept() {
        // tag 0 (date/time text), tag 1 (epoch seconds), tag 24 (embedded CBOR bytes),
        // tag 32 (URI), two tags on one item, and a tagged dictionary key.
        let bytes = hex("85 1824 01 02 a1 c1 616b 01
             85 c0 74 323031332d30332d32315432303a30343a30305a
                c1 1a514b67b0
                d818 42 0102
                d820 69687474703a2f2f782f
                c6 c7 f5");
        let msg = Serialization::Cbor.decode(&bytes).unwrap();
        let Message::Event {
            details, payload, ..
        } = msg
        else {
            panic!("{msg:?}")
        };
        assert_eq!(details, dict(&[("k", Value::Int(1))]));
        assert_eq!(
            payload.args,
            Some(vec![
                Value::from("2013-03-21T20:04:00Z"),
                Value::Int(1363896240),
                Value::Bytes(vec![1, 2]),
                Value::from("http://x/"),
                Value::Bool(true),
            ])
        );
        // The self-describe tag (55799) on the whole message.
        let mut described = hex("d9d9f7");
        described.extend_from_slice(&Serialization::Cbor.encode(&every_message()[8]));
        assert_eq!(
            Serialization::Cbor.decode(&described).unwrap(),
            every_message()[8]
        );
    }

    #[test]
    fn dictionary_keys_must_be_strings() {
        for (what, map) in [
            ("integer", "a1 01 02"),
            ("negative integer", "a1 20 02"),
            ("bytes", "a1 4161 02"),
            ("array", "a1 80 02"),
            ("null", "a1 f6 02"),
            ("float", "a1 f93c00 02"),
            ("indefinite map with an integer key", "bf 616b 01 02 03 ff"),
        ] {
            // As PUBLISH.Options, and deep inside ArgumentsKw.
            for bytes in [
                hex(&format!("84 10 01 {map} 6174")),
                hex(&format!("86 10 01 a0 6174 80 a1 616b 81 {map}")),
            ] {
                let e = decode_err(&bytes);
                assert!(e.contains("string dictionary key"), "{what}: {e}");
                assert!(e.starts_with("invalid CBOR: "), "{what}: {e}");
            }
        }
        // Same rule in MessagePack: {1: 2} and {bin "a": 2} as PUBLISH.Options.
        for map in ["81 01 02", "81 c40161 02"] {
            let e = Serialization::MsgPack
                .decode(&hex(&format!("94 10 01 {map} a174")))
                .unwrap_err();
            assert!(e.0.contains("string dictionary key"), "{map}: {e}");
        }
    }

    #[test]
    fn malformed_input_is_an_error() {
        for (what, bytes) in [
            ("empty", ""),
            ("trailing bytes", "83 1821 05 06 00"),
            ("two messages", "82 1823 07 82 1823 07"),
            ("lone break", "ff"),
            ("break inside a definite array", "83 1821 05 ff"),
            ("reserved additional info", "1c"),
            ("unknown simple value", "83 1821 05 f0"),
            ("invalid UTF-8", "84 10 01 a0 62 c328"),
            ("invalid UTF-8 in a chunk", "84 10 01 a0 7f 61 c3 61 28 ff"),
            ("bytes chunk in a text string", "84 10 01 a0 7f 4161 ff"),
            ("tag without content", "83 1821 05 c6"),
            ("map missing a value", "84 10 01 a1 616b"),
        ] {
            let e = decode_err(&hex(bytes));
            assert!(e.starts_with("invalid CBOR: "), "{what}: {e}");
        }
        // Well-formed CBOR that is no WAMP message: the message checks refuse it.
        for (what, bytes) in [("a map", "a0"), ("a byte string", "43 010203")] {
            let e = decode_err(&hex(bytes));
            assert!(!e.starts_with("invalid CBOR"), "{what}: {e}");
        }
    }

    /// Every strict prefix of every message is an error (truncated input), never a panic.
    #[test]
    fn truncated_messages_are_errors() {
        for msg in every_message() {
            let bytes = Serialization::Cbor.encode(&msg);
            for end in 0..bytes.len() {
                let e = decode_err(&bytes[..end]);
                assert!(e.contains("truncated"), "{msg:?} cut at {end}: {e}");
            }
        }
    }

    /// Lengths that claim far more than the input holds fail on the missing data; nothing
    /// is allocated up front for them.
    #[test]
    fn huge_declared_lengths_are_errors() {
        for item in [
            "5bffffffffffffffff",
            "7bffffffffffffffff",
            "9bffffffffffffffff",
            "bbffffffffffffffff",
            "5b7fffffffffffffff 00",
            "9a ffffffff 01",
            "ba ffffffff 616b 01",
            "7f 7bffffffffffffffff 61 ff",
        ] {
            for bytes in [hex(item), hex(&format!("85 1824 01 02 a0 81 {item}"))] {
                let e = decode_err(&bytes);
                assert!(e.contains("truncated"), "{item}: {e}");
            }
        }
    }

    #[test]
    fn nesting_limit_is_the_same_in_every_serialization() {
        fn nested(depth: usize) -> Value {
            (0..depth).fold(Value::Bytes(vec![1]), |v, _| Value::List(vec![v]))
        }
        let event = |depth| Message::Event {
            subscription: 1,
            publication: 2,
            details: Dict::new(),
            payload: Payload {
                args: Some(vec![nested(depth)]),
                kwargs: None,
            },
        };
        // The message list and its Arguments list count too.
        let fits = event(100);
        let too_deep = event(200);
        for s in Serialization::ALL {
            assert_eq!(s.decode(&s.encode(&fits)).unwrap(), fits, "{s:?}");
            assert!(s.decode(&s.encode(&too_deep)).is_err(), "{s:?}");
        }
    }

    #[test]
    fn event_ref_encodes_like_event_in_cbor() {
        let Message::Event {
            subscription,
            publication,
            details,
            payload,
        } = every_message().swap_remove(13)
        else {
            panic!()
        };
        let owned = Message::Event {
            subscription,
            publication,
            details: details.clone(),
            payload: payload.clone(),
        };
        let borrowed = EventRef {
            subscription,
            publication,
            details: &details,
            payload: &payload,
        };
        assert_eq!(
            Serialization::Cbor.encode(&owned),
            Serialization::Cbor.encode_any(&borrowed)
        );
    }
}

#[cfg(test)]
mod big_integers {
    use super::cbor::{args_of, big, event_with, every_message};
    use super::*;
    use crate::wamp::message::Payload;
    use crate::wamp::value::Dict;

    const MAX_128: &str = "340282366920938463463374607431768211455";
    const MIN_128: &str = "-340282366920938463463374607431768211456";

    fn event(args: Vec<Value>, kwargs: Dict) -> Message {
        Message::Event {
            subscription: 1,
            publication: 2,
            details: Dict::new(),
            payload: Payload {
                args: Some(args),
                kwargs: (!kwargs.is_empty()).then_some(kwargs),
            },
        }
    }

    #[test]
    fn json_integer_literals_of_any_size_are_exact() {
        let text = format!(
            r#"[36, 1, 2, {{}}, [1, {MAX_128}, {MIN_128}, 18446744073709551615, -9223372036854775808, 1.5, "\u0000AAE="]]"#
        );
        let msg = Serialization::Json.decode(text.as_bytes()).unwrap();
        assert_eq!(
            args_of(msg.clone()),
            vec![
                Value::Int(1),
                big(MAX_128),
                big(MIN_128),
                Value::UInt(u64::MAX),
                Value::Int(i64::MIN),
                Value::Float(1.5),
                Value::Bytes(vec![0, 1]),
            ]
        );
        assert_eq!(
            String::from_utf8(Serialization::Json.encode(&msg).to_vec()).unwrap(),
            format!(
                r#"[36,1,2,{{}},[1,{MAX_128},{MIN_128},18446744073709551615,-9223372036854775808,1.5,"\u0000AAE="]]"#
            )
        );
    }

    #[test]
    fn json_digit_runs_in_strings_and_fractions_read_as_before() {
        for text in [
            r#"[36,1,2,{"id":"12345678901234567890123"},["9999999999999999999",0.1234567890123456789]]"#,
            r#"[36,1,2,{},["\u0000AAE=",1e3,-0,"12345678901234567890"],{"a":[{"b":null}]}]"#,
        ] {
            let slow = Serialization::Json.decode(text.as_bytes()).unwrap();
            let fast: Value = serde_json::from_str(text).unwrap();
            assert_eq!(slow, Message::from_value(fast).unwrap(), "{text}");
        }
    }

    #[test]
    fn json_errors_with_a_long_digit_run_are_still_errors() {
        for text in [
            r#"[36,1,2,{},[12345678901234567890123,]]"#,
            r#"[36,1,2,{},[12345678901234567890123]] x"#,
            r#"[36,1,2,{"a" 1},[12345678901234567890123]]"#,
            r#"[36,1,2,{},[12345678901234567890123,"\q"]]"#,
            r#"[36,1,2,{},[12345678901234567890123,01]]"#,
            r#"[36,1,2,{},[12345678901234567890123,1e999]]"#,
            "[36,1,2,{},[12345678901234567890123]",
        ] {
            let e = Serialization::Json.decode(text.as_bytes()).unwrap_err();
            assert!(e.0.starts_with("invalid JSON: "), "{text}: {e}");
        }
        // Well-formed JSON that is no WAMP message.
        let e = Serialization::Json
            .decode(b"[36,1,2,{},12345678901234567890123]")
            .unwrap_err();
        assert!(!e.0.starts_with("invalid JSON"), "{e}");
    }

    #[test]
    fn json_nesting_limit_holds_with_big_integers() {
        let nested = |depth: usize| {
            format!(
                "[36,1,2,{{}},[{MAX_128},{}1{}]]",
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        // The message and its Arguments are two levels.
        assert!(Serialization::Json.decode(nested(125).as_bytes()).is_ok());
        let e = Serialization::Json
            .decode(nested(126).as_bytes())
            .unwrap_err();
        assert!(e.0.contains("recursion limit exceeded"), "{e}");
        for depth in [125, 126] {
            let fast = format!(
                "[36,1,2,{{}},[1,{}1{}]]",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            assert_eq!(
                Serialization::Json.decode(fast.as_bytes()).is_ok(),
                depth == 125
            );
        }
    }

    #[test]
    fn json_repeated_keys_keep_the_last_value() {
        for number in ["1", MAX_128] {
            let text =
                format!(r#"[36,1,2,{{"k":1,"k":"two"}},[{number}],{{"x":[],"x":{number}}}]"#);
            let Message::Event {
                details, payload, ..
            } = Serialization::Json.decode(text.as_bytes()).unwrap()
            else {
                panic!()
            };
            assert_eq!(details["k"], Value::from("two"));
            assert_eq!(payload.kwargs.unwrap()["x"], big(number));
        }
    }

    #[test]
    fn bignums_convert_between_json_and_cbor() {
        let cbor = event_with(&format!("c2 50 {}", "ff".repeat(16)));
        let from_cbor = Serialization::Cbor.decode(&cbor).unwrap();
        assert_eq!(
            &Serialization::Json.encode(&from_cbor)[..],
            format!("[36,1,2,{{}},[{MAX_128}]]").as_bytes()
        );
        let from_json = Serialization::Json
            .decode(format!("[36,1,2,{{}},[{MAX_128}]]").as_bytes())
            .unwrap();
        assert_eq!(Serialization::Cbor.encode(&from_json), cbor);
        let from_json = Serialization::Json
            .decode(format!("[36,1,2,{{}},[{MIN_128}]]").as_bytes())
            .unwrap();
        assert_eq!(
            Serialization::Cbor.encode(&from_json),
            event_with(&format!("c3 50 {}", "ff".repeat(16)))
        );
    }

    #[test]
    fn messagepack_peers_cannot_be_sent_big_integers() {
        let mut kwargs = Dict::new();
        kwargs.insert(
            "deep".into(),
            Value::List(vec![Value::Int(1), big(MIN_128)]),
        );
        for msg in [
            event(vec![big(MAX_128)], Dict::new()),
            event(vec![Value::Int(1)], kwargs),
        ] {
            let e = Serialization::MsgPack.try_encode(&msg).unwrap_err();
            assert_eq!(e, EncodeError::BigIntInMsgPack { digits: 39 });
            assert_eq!(
                e.to_string(),
                "MessagePack has no integers beyond 64 bits (a value of 39 digits)"
            );
            assert!(Serialization::MsgPack.encode(&msg).is_empty());
            // JSON and CBOR peers get it.
            for s in [Serialization::Json, Serialization::Cbor] {
                assert_eq!(s.decode(&s.try_encode(&msg).unwrap()).unwrap(), msg);
            }
        }
        // Without big integers MessagePack is what it was.
        for msg in every_message() {
            let bytes = Serialization::MsgPack.try_encode(&msg).unwrap();
            assert_eq!(bytes, rmp_serde::to_vec(&msg).unwrap());
        }
    }

    /// Outside an encode that sets a form, non-human-readable serializers are refused a
    /// `BigInt`, whatever ran before on the thread.
    #[test]
    fn forms_do_not_outlive_their_encode() {
        let msg = event(vec![big(MAX_128)], Dict::new());
        Serialization::Cbor.encode(&msg);
        assert!(Serialization::MsgPack.try_encode(&msg).is_err());
        assert!(rmp_serde::to_vec(&msg).is_err());
        assert!(ciborium::into_writer(&msg, Vec::new()).is_err());
        assert_eq!(
            Serialization::Cbor.try_encode(&msg).unwrap(),
            event_with(&format!("c2 50 {}", "ff".repeat(16)))
        );
    }
}
