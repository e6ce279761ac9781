//! Serializers: WAMP messages to and from bytes in JSON, MessagePack and CBOR. This file
//! owns what is common to the three, [`Serialization`] (which one a session uses, encoding and
//! decoding a message in it) and [`EncodeError`]; the rest is one file per concern:
//!
//! - [`json`]: JSON decoding with exact integers;
//! - `msgpack`: MessagePack decoding (the whole input, one item);
//! - `cbor`: CBOR decoding, why ciborium, and what the decoder accepts;
//! - `subprotocol`: the WebSocket subprotocols that select a serialization, and the batched
//!   framing of each.
//!
//! Encoding stays here, one `match` for the three: each is one call into its serde
//! serializer, and the encode path is the hot one (an EVENT is encoded once per serialization
//! in use, for every publication).
//!
//! JSON goes in text frames, MessagePack and CBOR in binary frames.
//!
//! Bytes and strings stay apart in every serialization (see [`Value`]): JSON `"\u0000"` +
//! base64, MessagePack `bin`, CBOR byte strings (major type 2).
//!
//! Integers of any size travel exactly between JSON (decimal literals, read by
//! [`json`]) and CBOR (bignums). MessagePack has no integers beyond 64
//! bits: encoding one for a MessagePack peer fails ([`Serialization::try_encode`] says so with
//! an [`EncodeError`]; [`Serialization::encode`] logs it and gives an empty frame) rather than
//! writing something the peer would read as another value.

mod cbor;
pub mod json;
mod msgpack;
mod peek;
mod subprotocol;

use bytes::Bytes;

use crate::wamp::message::{Message, ProtocolViolation};
use crate::wamp::value::{BigIntForm, Value, refused_bigint_digits, with_bigint_form};
use cbor::decode_cbor;
use msgpack::decode_msgpack;
pub use subprotocol::{
    AUTOBAHN_PYTHON_JSON_SEPARATOR, JSON_SEPARATOR, Subprotocol, json_separator_of,
};

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

/// Number of serializations; an EVENT is encoded at most once per serialization.
pub const SERIALIZATIONS: usize = 3;

impl Serialization {
    /// Every serialization, in [`index`](Self::index) order.
    pub const ALL: [Serialization; SERIALIZATIONS] = [
        Serialization::Json,
        Serialization::MsgPack,
        Serialization::Cbor,
    ];

    /// The name config.json gives it (`json`, `msgpack`, `cbor`), also its name in logs.
    pub fn name(self) -> &'static str {
        match self {
            Serialization::Json => "json",
            Serialization::MsgPack => "msgpack",
            Serialization::Cbor => "cbor",
        }
    }

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
            Serialization::Json => crate::wamp::serializer::json::decode(bytes)
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

#[cold]
fn failed_encode(serialization: Serialization, e: EncodeError) -> Bytes {
    // Logged, and an empty frame rather than a panic: the peer fails loudly instead of the
    // router crashing. Callers that can do better use `try_encode`.
    tracing::error!(
        serialization = serialization.name(),
        error = %e,
        "failed to encode a message"
    );
    Bytes::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wamp::message::Payload;
    use crate::wamp::value::Dict;

    pub(super) fn publish() -> Message {
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
mod big_integers {
    use super::cbor::tests::{args_of, big, event_with, every_message};
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
