//! Entry points for the fuzz targets in `fuzz/` and for the test that replays their saved
//! corpora (`tests/it/fuzz_corpora.rs`): each takes any bytes, drives the same code the
//! network or a file would, and must return without panicking. Where a result can be checked
//! against itself (what Junction encodes it must decode; a diff applied gives the new
//! document) it is, with an assertion: a failed one is a finding like a crash.

use std::time::Duration;

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::config::{SigningKey, load_str_with_env, secret::Secret};
use crate::http::bridge::{parse_object, payload_parts, required_string};
use crate::http::signature::{SigningArgs, verify};
use crate::transport::rawsocket::codec::Codec;
use crate::transport::rawsocket::handshake::{self, Request};
use crate::wamp::serializer::{Serialization, Subprotocol, json_separator_of};

const SERIALIZATIONS: [Serialization; 3] = [
    Serialization::Json,
    Serialization::MsgPack,
    Serialization::Cbor,
];

/// The first byte picks the serialization, the rest is one message. What decodes is encoded
/// again in every serialization that can carry it, and that must decode.
pub fn wamp_message(data: &[u8]) {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let serialization = SERIALIZATIONS[usize::from(pick) % 3];
    let Ok(message) = serialization.decode(bytes) else {
        return;
    };
    for other in SERIALIZATIONS {
        if let Ok(encoded) = other.try_encode(&message) {
            let again = other.decode(&encoded);
            assert!(
                again.is_ok(),
                "{other:?} cannot decode what it encoded: {message:?} -> {again:?}"
            );
        }
    }
}

/// A WebSocket message as the reader gets it: the first byte picks the subprotocol (plain or
/// batched, JSON, MessagePack or CBOR), the rest is the frame's payload; text frames must be
/// UTF-8 (tungstenite checks that before Junction sees them).
pub fn websocket_message(data: &[u8]) {
    let Some((&pick, payload)) = data.split_first() else {
        return;
    };
    let subprotocol = Subprotocol {
        serialization: SERIALIZATIONS[usize::from(pick) % 3],
        batched: pick & 0x80 != 0,
    };
    if subprotocol.serialization.is_text() && std::str::from_utf8(payload).is_err() {
        return;
    }
    if subprotocol.batched && subprotocol.serialization.is_text() {
        let _ = json_separator_of(payload);
    }
    let Ok(messages) = subprotocol.split(payload) else {
        return;
    };
    for bytes in messages {
        let _ = subprotocol.serialization.decode(bytes);
    }
}

/// A RawSocket connection's first bytes: the 4-octet handshake, then length-prefixed frames up
/// to the announced maximum, each decoded as a message of the negotiated serialization.
pub fn rawsocket_stream(data: &[u8]) {
    let Some((opening, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    if opening[0] != handshake::MAGIC {
        return;
    }
    let request = Request::parse([opening[1], opening[2], opening[3]]);
    let Ok(accepted) = handshake::negotiate(request, &crate::config::SerializerName::ALL, 0x0F)
    else {
        return;
    };
    let mut codec = Codec {
        max_length: handshake::max_length(0x0F).min(1 << 16),
    };
    let mut buffer = BytesMut::from(rest);
    while let Ok(Some(frame)) = codec.decode(&mut buffer) {
        let _ = accepted.serialization.decode(&frame.payload);
    }
}

/// A publisher or caller request: the query string up to the first 0 byte, the body after it.
/// The query is read for signing arguments and checked against a key (with and without a
/// timestamp window); the body is read as the bridge reads it.
pub fn bridge_request(data: &[u8]) {
    let (query, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let query = String::from_utf8_lossy(query);
    let args = SigningArgs::from_query(&query);
    let signing = SigningKey {
        key: "fuzz-key".to_owned(),
        secret: Secret::new("fuzz-secret"),
    };
    let now = jiff::Timestamp::UNIX_EPOCH;
    for window in [None, Some(Duration::from_secs(300))] {
        let _ = verify(&signing, &args, body, window, now);
    }
    if let Ok(mut object) = parse_object(body) {
        let _ = payload_parts(&mut object);
        let _ = required_string(&mut object, "topic");
    }
}

/// A config file's text, loaded with every `$VAR` set.
pub fn config_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = load_str_with_env(text, &|_| Some("fuzz-value".to_owned()));
}

/// Two JSON documents separated by a 0 byte: the poller's diff of the first to the second,
/// applied to the first, must give the second.
pub fn poller_diff(data: &[u8]) {
    let Some(i) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let (Ok(old), Ok(new)) = (
        serde_json::from_slice::<serde_json::Value>(&data[..i]),
        serde_json::from_slice::<serde_json::Value>(&data[i + 1..]),
    ) else {
        return;
    };
    let patch = crate::poller::diff::diff(&old, &new);
    assert_eq!(
        patch.0.is_empty(),
        old == new,
        "empty patch if and only if equal"
    );
    let mut patched = old.clone();
    json_patch::patch(&mut patched, &patch).expect("the diff applies to the old document");
    assert_eq!(patched, new, "old + diff(old, new) == new");
    if let Ok(from_bytes) = crate::poller::diff::diff_bytes(&old, &data[i + 1..]) {
        assert_eq!(from_bytes, patch, "diff_bytes agrees with diff");
    }
}

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// Every target by the name of its folder under `fuzz/corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("wamp_message", wamp_message),
    ("websocket_message", websocket_message),
    ("rawsocket_stream", rawsocket_stream),
    ("bridge_request", bridge_request),
    ("config_text", config_text),
    ("poller_diff", poller_diff),
];
