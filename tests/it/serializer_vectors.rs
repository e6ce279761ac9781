//! The WAMP specification's serialization test vectors (tests/data/wamp-proto) against
//! Junction's JSON, MessagePack and CBOR serializers: every sample's bytes decode to a message
//! with the expected attributes, every serialization of a sample decodes to the same message,
//! and encoding that message in any serialization decodes back to the same message.
//!
//! Transparent-payload samples (expected_attributes with a "payload" key: payload passthru,
//! which Junction does not announce) and validation samples without bytes are skipped here;
//! PUBLISH options validation is enforced by the router and tested in wamp_protocol.rs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use junction::wamp::message::{Message, Payload};
use junction::wamp::serializer::Serialization;
use junction::wamp::value::{Dict, Value};
use serde_json::Value as Json;

fn vector_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/wamp-proto/singlemessage/basic")
}

/// A JSON value from the vector file as a WAMP value, built independently of the decoder.
fn to_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::from(u),
            (None, Some(i)) => Value::Int(i),
            _ => Value::Float(n.as_f64().expect("a number")),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(to_value).collect()),
        Json::Object(obj) => Value::Dict(to_dict(obj)),
    }
}

fn to_dict(obj: &serde_json::Map<String, Json>) -> Dict {
    obj.iter().map(|(k, v)| (k.clone(), to_value(v))).collect()
}

fn id(n: u64) -> Value {
    Value::from(n)
}

fn payload_attrs(attrs: &mut BTreeMap<&'static str, Value>, payload: &Payload) {
    attrs.insert(
        "args",
        payload.args.clone().map_or(Value::Null, Value::List),
    );
    attrs.insert(
        "kwargs",
        payload.kwargs.clone().map_or(Value::Null, Value::Dict),
    );
}

/// A decoded message in the vocabulary of `expected_attributes`.
fn attributes(msg: &Message) -> BTreeMap<&'static str, Value> {
    let mut a = BTreeMap::new();
    a.insert("message_type", id(msg.code()));
    // HELLO and WELCOME vectors list Details.roles as "roles"; other Details keys must not
    // appear (the samples have none).
    let roles = |details: &Dict| {
        assert!(
            details.keys().all(|k| k == "roles"),
            "unexpected Details keys {details:?}"
        );
        details.get("roles").cloned().unwrap_or(Value::Null)
    };
    match msg {
        Message::Hello { realm, details } => {
            a.insert("realm", Value::from(realm.as_str()));
            a.insert("roles", roles(details));
        }
        Message::Welcome { session, details } => {
            a.insert("session_id", id(*session));
            a.insert("roles", roles(details));
        }
        Message::Abort { details, reason } | Message::Goodbye { details, reason } => {
            a.insert("details", Value::Dict(details.clone()));
            a.insert("reason", Value::from(reason.as_str()));
        }
        Message::Challenge { authmethod, extra } => {
            a.insert("method", Value::from(authmethod.as_str()));
            a.insert("extra", Value::Dict(extra.clone()));
        }
        Message::Authenticate { signature, extra } => {
            a.insert("signature", Value::from(signature.as_str()));
            a.insert("extra", Value::Dict(extra.clone()));
        }
        Message::Error {
            request_type,
            request,
            details,
            error,
            payload,
        } => {
            a.insert("request_type", id(*request_type));
            a.insert("request_id", id(*request));
            a.insert("details", Value::Dict(details.clone()));
            a.insert("error", Value::from(error.as_str()));
            payload_attrs(&mut a, payload);
        }
        Message::Publish {
            request,
            options,
            topic,
            payload,
        } => {
            a.insert("request_id", id(*request));
            a.insert("options", Value::Dict(options.clone()));
            a.insert("topic", Value::from(topic.as_str()));
            payload_attrs(&mut a, payload);
        }
        Message::Published {
            request,
            publication,
        } => {
            a.insert("request_id", id(*request));
            a.insert("publication_id", id(*publication));
        }
        Message::Subscribe {
            request,
            options,
            topic,
        } => {
            a.insert("request_id", id(*request));
            a.insert("options", Value::Dict(options.clone()));
            a.insert("topic", Value::from(topic.as_str()));
        }
        Message::Subscribed {
            request,
            subscription,
        }
        | Message::Unsubscribe {
            request,
            subscription,
        } => {
            a.insert("request_id", id(*request));
            a.insert("subscription_id", id(*subscription));
        }
        Message::Unsubscribed { request } | Message::Unregistered { request } => {
            a.insert("request_id", id(*request));
        }
        Message::Event {
            subscription,
            publication,
            details,
            payload,
        } => {
            a.insert("subscription", id(*subscription));
            a.insert("publication", id(*publication));
            a.insert("details", Value::Dict(details.clone()));
            payload_attrs(&mut a, payload);
        }
        Message::Call {
            request,
            options,
            procedure,
            payload,
        } => {
            a.insert("request_id", id(*request));
            a.insert("options", Value::Dict(options.clone()));
            a.insert("procedure", Value::from(procedure.as_str()));
            payload_attrs(&mut a, payload);
        }
        Message::Result {
            request,
            details,
            payload,
        } => {
            a.insert("request_id", id(*request));
            a.insert("details", Value::Dict(details.clone()));
            payload_attrs(&mut a, payload);
        }
        Message::Register {
            request,
            options,
            procedure,
        } => {
            a.insert("request_id", id(*request));
            a.insert("options", Value::Dict(options.clone()));
            a.insert("procedure", Value::from(procedure.as_str()));
        }
        Message::Registered {
            request,
            registration,
        }
        | Message::Unregister {
            request,
            registration,
        } => {
            a.insert("request_id", id(*request));
            a.insert("registration_id", id(*registration));
        }
        Message::Invocation {
            request,
            registration,
            details,
            payload,
        } => {
            a.insert("request_id", id(*request));
            a.insert("registration_id", id(*registration));
            a.insert("details", Value::Dict(details.clone()));
            payload_attrs(&mut a, payload);
        }
        Message::Yield {
            request,
            options,
            payload,
        } => {
            a.insert("request_id", id(*request));
            a.insert("options", Value::Dict(options.clone()));
            payload_attrs(&mut a, payload);
        }
        Message::Cancel { request, options } | Message::Interrupt { request, options } => {
            a.insert("request_id", id(*request));
            a.insert("options", Value::Dict(options.clone()));
        }
    }
    a
}

/// Compares a decoded message with `expected_attributes`. Attributes the vector leaves out must
/// be absent from the message (args/kwargs: None).
fn check_attributes(what: &str, msg: &Message, expected: &serde_json::Map<String, Json>) {
    let actual = attributes(msg);
    for (key, value) in expected {
        let got = actual
            .get(key.as_str())
            .unwrap_or_else(|| panic!("{what}: {msg:?} has no attribute {key}"));
        assert_eq!(got, &to_value(value), "{what}: attribute {key} of {msg:?}");
    }
    for (key, value) in &actual {
        if !expected.contains_key(*key) {
            assert_eq!(
                value,
                &Value::Null,
                "{what}: {msg:?} has {key} the vector does not"
            );
        }
    }
}

fn hex_decode(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex length");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Decodes `bytes`, checks the attributes, re-encodes in every serialization and checks that
/// each decodes back to the same message. Returns the decoded message.
fn check_sample_bytes(
    what: &str,
    serialization: Serialization,
    bytes: &[u8],
    expected: &serde_json::Map<String, Json>,
) -> Message {
    let msg = serialization
        .decode(bytes)
        .unwrap_or_else(|e| panic!("{what}: does not decode: {e}"));
    check_attributes(what, &msg, expected);
    for again in Serialization::ALL {
        let encoded = again.encode(&msg);
        let decoded = again.decode(&encoded).unwrap_or_else(|e| {
            panic!("{what}: re-encoded as {again:?} does not decode: {e} ({encoded:02x?})")
        });
        assert_eq!(decoded, msg, "{what}: {again:?} round trip");
    }
    msg
}

#[derive(Default, Debug)]
struct Counts {
    files: usize,
    samples: usize,
    json_bytes: usize,
    msgpack_bytes: usize,
    cbor_bytes: usize,
    skipped_payload: usize,
    skipped_without_bytes: usize,
}

#[test]
fn decode_and_round_trip_every_basic_sample() {
    let mut counts = Counts::default();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .expect("tests/data/wamp-proto/singlemessage/basic")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for path in &paths {
        counts.files += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let file: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let code = file["wamp_message_code"].as_u64().expect("code");
        for (i, sample) in file["samples"]
            .as_array()
            .expect("samples")
            .iter()
            .enumerate()
        {
            let Some(expected) = sample["expected_attributes"].as_object() else {
                counts.skipped_without_bytes += 1;
                continue;
            };
            if expected.contains_key("payload") {
                counts.skipped_payload += 1;
                continue;
            }
            let description = sample["description"].as_str().unwrap_or_default();
            assert_eq!(expected["message_type"], code, "{name}#{i}");
            let json = sample["serializers"]["json"]
                .as_array()
                .expect("json bytes");
            let msgpack = sample["serializers"]["msgpack"]
                .as_array()
                .expect("msgpack bytes");
            let cbor = sample["serializers"]["cbor"]
                .as_array()
                .expect("cbor bytes");
            assert!(
                !json.is_empty() && !msgpack.is_empty() && !cbor.is_empty(),
                "{name}#{i}"
            );

            let mut decoded = Vec::new();
            for (j, variant) in json.iter().enumerate() {
                let text = variant["bytes"].as_str().expect("json bytes text");
                assert_eq!(
                    hex_decode(variant["bytes_hex"].as_str().expect("bytes_hex")),
                    text.as_bytes(),
                    "{name}#{i}: bytes and bytes_hex disagree"
                );
                let what = format!("{name}#{i} ({description}) json[{j}]");
                decoded.push(check_sample_bytes(
                    &what,
                    Serialization::Json,
                    text.as_bytes(),
                    expected,
                ));
                counts.json_bytes += 1;
            }
            for (j, variant) in msgpack.iter().enumerate() {
                let bytes = hex_decode(variant["bytes_hex"].as_str().expect("bytes_hex"));
                let what = format!("{name}#{i} ({description}) msgpack[{j}]");
                decoded.push(check_sample_bytes(
                    &what,
                    Serialization::MsgPack,
                    &bytes,
                    expected,
                ));
                counts.msgpack_bytes += 1;
            }
            for (j, variant) in cbor.iter().enumerate() {
                let bytes = hex_decode(variant["bytes_hex"].as_str().expect("bytes_hex"));
                let what = format!("{name}#{i} ({description}) cbor[{j}]");
                decoded.push(check_sample_bytes(
                    &what,
                    Serialization::Cbor,
                    &bytes,
                    expected,
                ));
                counts.cbor_bytes += 1;
            }
            // Every serialization of a sample is the same message.
            for other in &decoded[1..] {
                assert_eq!(other, &decoded[0], "{name}#{i}: serializations disagree");
            }
            counts.samples += 1;
        }
    }
    println!("serializer vectors: {counts:?}");
    assert_eq!(counts.files, 22, "{counts:?}");
    assert_eq!(counts.samples, 24, "{counts:?}");
    assert_eq!(counts.json_bytes, 45, "{counts:?}");
    assert_eq!(counts.msgpack_bytes, 24, "{counts:?}");
    assert_eq!(counts.cbor_bytes, 24, "{counts:?}");
}

/// The bytes convention survives the serializers: msgpack `bin` <-> JSON "\u0000" + base64.
#[test]
fn bytes_convert_between_msgpack_and_json() {
    let msg = Message::Event {
        subscription: 1,
        publication: 2,
        details: Dict::new(),
        payload: Payload {
            args: Some(vec![Value::Bytes(vec![0, 1, 2]), Value::from("plain")]),
            kwargs: None,
        },
    };
    let json = Serialization::Json.encode(&msg);
    assert_eq!(&json[..], br#"[36,1,2,{},["\u0000AAEC","plain"]]"#);
    assert_eq!(Serialization::Json.decode(&json).unwrap(), msg);
    let packed = Serialization::MsgPack.encode(&msg);
    // fixarray(5) 36 1 2 fixmap(0) fixarray(2) bin8(3) 00 01 02 fixstr(5) "plain"
    assert_eq!(
        &packed[..],
        &[
            0x95, 0x24, 0x01, 0x02, 0x80, 0x92, 0xc4, 0x03, 0, 1, 2, 0xa5, b'p', b'l', b'a', b'i',
            b'n'
        ]
    );
    assert_eq!(Serialization::MsgPack.decode(&packed).unwrap(), msg);
}

/// The same EVENT with bytes in CBOR: a byte string (major type 2), converted to msgpack `bin`
/// and JSON "\u0000" + base64 and back without loss.
#[test]
fn bytes_convert_between_cbor_and_the_others() {
    let mut kwargs = Dict::new();
    kwargs.insert("blob".into(), Value::Bytes(vec![0xff; 3]));
    let msg = Message::Event {
        subscription: 1,
        publication: 2,
        details: Dict::new(),
        payload: Payload {
            args: Some(vec![Value::Bytes(vec![0, 1, 2]), Value::from("plain")]),
            kwargs: Some(kwargs),
        },
    };
    let cbor = Serialization::Cbor.encode(&msg);
    // array(6) 36 1 2 map(0) array(2) bytes(3) 00 01 02 text(5) "plain"
    // map(1) text(4) "blob" bytes(3) ff ff ff
    assert_eq!(
        &cbor[..],
        &[
            0x86, 0x18, 0x24, 0x01, 0x02, 0xa0, 0x82, 0x43, 0, 1, 2, 0x65, b'p', b'l', b'a', b'i',
            b'n', 0xa1, 0x64, b'b', b'l', b'o', b'b', 0x43, 0xff, 0xff, 0xff
        ]
    );
    let json = Serialization::Json.encode(&Serialization::Cbor.decode(&cbor).unwrap());
    assert_eq!(
        &json[..],
        br#"[36,1,2,{},["\u0000AAEC","plain"],{"blob":"\u0000////"}]"#
    );
    let packed = Serialization::MsgPack.encode(&Serialization::Json.decode(&json).unwrap());
    let back = Serialization::Cbor.encode(&Serialization::MsgPack.decode(&packed).unwrap());
    assert_eq!(back, cbor);
}
