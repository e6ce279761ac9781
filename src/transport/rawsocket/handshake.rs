//! The RawSocket opening handshake: the client sends 4 octets `0x7F, LLLL SSSS, 0, 0`
//! (it accepts messages up to 2^(9+L) octets, serialized with S: 1 JSON, 2 MessagePack,
//! 3 CBOR); the router answers the same form with its own maximum and the serializer, or
//! `0x7F, EEEE 0000, 0, 0` with an error code and closes.
//!
//! Of the spec's error codes Junction sends 1 (serializer unsupported, or not enabled on this
//! transport) and 3 (reserved octets not zero). 2 (maximum message length unacceptable) has
//! no case here: any client maximum (at least 512 octets) is acceptable, as a message the
//! client cannot take closes that one session with a logged reason instead. 4 (maximum
//! connection count) has no case either: Junction has no connection limit of its own.

use std::fmt;

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::config::SerializerName;
use crate::wamp::serializer::Serialization;

/// The first octet of a RawSocket handshake (0x7F never starts an HTTP request).
pub const MAGIC: u8 = 0x7F;

/// The longest payload the 24-bit length of a frame can carry.
pub const MAX_FRAME_LENGTH: usize = (1 << 24) - 1;

/// What a client's handshake asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The largest message the client accepts (2^(9+L), at most what a frame can carry).
    pub max_length: usize,
    /// The serializer number S.
    pub serializer: u8,
    /// Octets 3 and 4, reserved (must be zero).
    pub reserved: [u8; 2],
}

impl Request {
    /// The handshake's octets 2..4 (the first, 0x7F, already checked).
    pub fn parse(octets: [u8; 3]) -> Request {
        Request {
            max_length: max_length(octets[0] >> 4),
            serializer: octets[0] & 0x0F,
            reserved: [octets[1], octets[2]],
        }
    }
}

/// 2^(9+exponent), at most what a frame's 24-bit length can say.
pub fn max_length(exponent: u8) -> usize {
    (1usize << (9 + u32::from(exponent & 0x0F))).min(MAX_FRAME_LENGTH)
}

/// Why a handshake is refused: the error code of the router's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 1: the serializer is unknown, or not among the transport's `serializers`.
    SerializerUnsupported(u8),
    /// 3: octets 3 and 4 are not zero.
    ReservedBits,
}

impl Refusal {
    pub fn code(self) -> u8 {
        match self {
            Refusal::SerializerUnsupported(_) => 1,
            Refusal::ReservedBits => 3,
        }
    }

    /// The router's answer: `0x7F, EEEE 0000, 0, 0`.
    pub fn octets(self) -> [u8; 4] {
        [MAGIC, self.code() << 4, 0, 0]
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::SerializerUnsupported(s) => {
                write!(f, "serializer {s} is not served on this transport")
            }
            Refusal::ReservedBits => f.write_str("reserved handshake octets are not zero"),
        }
    }
}

/// An accepted handshake: how the connection speaks, and the router's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub serialization: Serialization,
    /// The largest message the client accepts.
    pub client_max_length: usize,
    /// `0x7F, LLLL SSSS, 0, 0` with the router's length exponent and the serializer.
    pub octets: [u8; 4],
}

/// Checks `request` against the transport's `serializers`; `exponent` is the router's
/// length exponent (its maximum message length is 2^(9+exponent)).
pub fn negotiate(
    request: Request,
    serializers: &[SerializerName],
    exponent: u8,
) -> Result<Accepted, Refusal> {
    if request.reserved != [0, 0] {
        return Err(Refusal::ReservedBits);
    }
    let serialization = Serialization::from_rawsocket_id(request.serializer)
        .filter(|s| serializers.iter().any(|name| name.serialization() == *s))
        .ok_or(Refusal::SerializerUnsupported(request.serializer))?;
    Ok(Accepted {
        serialization,
        client_max_length: request.max_length,
        octets: [
            MAGIC,
            (exponent & 0x0F) << 4 | serialization.rawsocket_id(),
            0,
            0,
        ],
    })
}

/// What the first octets of a connection turned out to be.
#[derive(Debug)]
pub enum Opening {
    Handshake(Request),
    /// The first octet is not 0x7F: not RawSocket.
    NotRawSocket(u8),
}

/// Reads a client's handshake: the first octet alone (so a peer that is not speaking RawSocket
/// is told apart at once), then the other three.
pub async fn read<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Opening> {
    let first = stream.read_u8().await?;
    if first != MAGIC {
        return Ok(Opening::NotRawSocket(first));
    }
    let mut rest = [0u8; 3];
    stream.read_exact(&mut rest).await?;
    Ok(Opening::Handshake(Request::parse(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [SerializerName; 3] = SerializerName::ALL;

    #[test]
    fn parses_the_client_maximum_and_serializer() {
        let r = Request::parse([0xF2, 0, 0]);
        assert_eq!(
            r,
            Request {
                max_length: MAX_FRAME_LENGTH,
                serializer: 2,
                reserved: [0, 0]
            }
        );
        assert_eq!(Request::parse([0x01, 0, 0]).max_length, 512);
        assert_eq!(Request::parse([0xB3, 0, 0]).max_length, 1 << 20);
    }

    #[test]
    fn answers_with_the_router_exponent_and_the_serializer() {
        for (id, serialization) in [
            (1, Serialization::Json),
            (2, Serialization::MsgPack),
            (3, Serialization::Cbor),
        ] {
            let accepted = negotiate(Request::parse([0xF0 | id, 0, 0]), &ALL, 11).unwrap();
            assert_eq!(accepted.serialization, serialization);
            assert_eq!(accepted.octets, [0x7F, 0xB0 | id, 0, 0]);
        }
    }

    #[test]
    fn refusals() {
        let refused = |octets: [u8; 3], served: &[SerializerName]| {
            negotiate(Request::parse(octets), served, 11).unwrap_err()
        };
        assert_eq!(
            refused([0xF1, 0, 1], &ALL).octets(),
            [0x7F, 0x30, 0, 0],
            "reserved octet 4"
        );
        assert_eq!(refused([0xF1, 8, 0], &ALL), Refusal::ReservedBits);
        for unknown in [0, 4, 5, 15] {
            assert_eq!(
                refused([0xF0 | unknown, 0, 0], &ALL),
                Refusal::SerializerUnsupported(unknown)
            );
        }
        let only_json = [SerializerName::Json];
        let refusal = refused([0xF2, 0, 0], &only_json);
        assert_eq!(refusal.octets(), [0x7F, 0x10, 0, 0]);
        assert_eq!(
            refusal.to_string(),
            "serializer 2 is not served on this transport"
        );
    }

    #[tokio::test]
    async fn reads_the_first_octet_alone() {
        let mut http: &[u8] = b"G";
        assert!(matches!(
            read(&mut http).await.unwrap(),
            Opening::NotRawSocket(b'G')
        ));
        let mut raw: &[u8] = &[0x7F, 0xF1, 0, 0, 9];
        assert!(matches!(
            read(&mut raw).await.unwrap(),
            Opening::Handshake(Request { serializer: 1, .. })
        ));
        assert_eq!(raw, [9], "nothing read past the handshake");
        let mut short: &[u8] = &[0x7F, 0xF1];
        assert!(read(&mut short).await.is_err());
    }
}
