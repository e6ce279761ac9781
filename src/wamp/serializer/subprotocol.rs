//! WebSocket subprotocols (`wamp.2.json`, `wamp.2.msgpack.batched`, ...): a serialization
//! plus its framing, and how a batched frame is split into messages and built from them.
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

use bytes::{BufMut, BytesMut};

use super::Serialization;
use crate::wamp::message::ProtocolViolation;

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
    use crate::wamp::message::Message;
    use crate::wamp::serializer::tests::publish;

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
}
