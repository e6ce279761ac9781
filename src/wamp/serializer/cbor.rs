//! CBOR decoding: one item read into a [`Value`] with ciborium, and the work-around for the
//! large negative bignums ciborium itself refuses. CBOR encoding is the one line in
//! [`Serialization::try_encode_any`](super::Serialization::try_encode_any).
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

use super::MAX_DEPTH;
use crate::wamp::value::Value;

/// One CBOR item as a [`Value`], the whole input and nothing more.
pub(super) fn decode_cbor(bytes: &[u8]) -> Result<Value, String> {
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::wamp::message::{EventRef, Message, Payload};
    use crate::wamp::serializer::Serialization;
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
    pub(in crate::wamp::serializer) fn every_message() -> Vec<Message> {
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

    pub(in crate::wamp::serializer) fn args_of(msg: Message) -> Vec<Value> {
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
    pub(in crate::wamp::serializer) fn event_with(item: &str) -> Vec<u8> {
        hex(&format!("85 1824 01 02 a0 81 {item}"))
    }

    pub(in crate::wamp::serializer) fn big(decimal: &str) -> Value {
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
