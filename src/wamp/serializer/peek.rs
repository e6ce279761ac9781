//! The message type of an encoded WAMP message, read from its first bytes without decoding
//! the rest: what the metrics count sent messages by (a frame is encoded long before it is
//! written, and may be shared by many receivers).

use super::Serialization;

impl Serialization {
    /// The type code of the WAMP message `frame` holds (its first element), if it reads as
    /// one: an array whose first element is a small unsigned integer.
    pub fn peek_code(self, frame: &[u8]) -> Option<u64> {
        match self {
            Serialization::Json => peek_json(frame),
            Serialization::MsgPack => peek_msgpack(frame),
            Serialization::Cbor => peek_cbor(frame),
        }
    }
}

fn peek_json(frame: &[u8]) -> Option<u64> {
    let mut rest = frame.iter().skip_while(|b| b.is_ascii_whitespace());
    if rest.next() != Some(&b'[') {
        return None;
    }
    let mut code: Option<u64> = None;
    for &b in rest.skip_while(|b| b.is_ascii_whitespace()) {
        if !b.is_ascii_digit() {
            break;
        }
        code = Some(code.unwrap_or(0).checked_mul(10)? + u64::from(b - b'0'));
    }
    code
}

fn peek_msgpack(frame: &[u8]) -> Option<u64> {
    let rest = match *frame.first()? {
        0x90..=0x9f => &frame[1..],
        0xdc => frame.get(3..)?,
        0xdd => frame.get(5..)?,
        _ => return None,
    };
    match *rest.first()? {
        b @ 0x00..=0x7f => Some(u64::from(b)),
        0xcc => rest.get(1).map(|b| u64::from(*b)),
        _ => None,
    }
}

fn peek_cbor(frame: &[u8]) -> Option<u64> {
    let rest = match *frame.first()? {
        0x80..=0x97 | 0x9f => &frame[1..],
        0x98 => frame.get(2..)?,
        0x99 => frame.get(3..)?,
        0x9a => frame.get(5..)?,
        _ => return None,
    };
    match *rest.first()? {
        b @ 0x00..=0x17 => Some(u64::from(b)),
        0x18 => rest.get(1).map(|b| u64::from(*b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wamp::message::{Message, Payload};
    use crate::wamp::value::Dict;

    #[test]
    fn reads_the_code_of_every_serialization() {
        let event = Message::Event {
            subscription: 1,
            publication: 2,
            details: Dict::new(),
            payload: Payload::default(),
        };
        let goodbye = Message::Goodbye {
            details: Dict::new(),
            reason: "wamp.close.normal".into(),
        };
        for s in Serialization::ALL {
            assert_eq!(s.peek_code(&s.encode(&event)), Some(36), "{s:?}");
            assert_eq!(s.peek_code(&s.encode(&goodbye)), Some(6), "{s:?}");
        }
        assert_eq!(Serialization::Json.peek_code(b" [ 70, 1]"), Some(70));
        assert_eq!(Serialization::Json.peek_code(b"{}"), None);
        assert_eq!(
            Serialization::MsgPack.peek_code(&[0x92, 0xcc, 200, 1]),
            Some(200)
        );
        assert_eq!(
            Serialization::Cbor.peek_code(&[0x82, 0x18, 50, 1]),
            Some(50)
        );
        assert_eq!(Serialization::Cbor.peek_code(&[]), None);
    }
}
