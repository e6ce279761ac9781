//! RawSocket frames after the handshake: a 4-octet header, `RRRR XTTT` then a 24-bit
//! big-endian payload length, then the payload. TTT is the frame type (0 a WAMP message,
//! 1 ping, 2 pong); the five bits above it are reserved and must be zero, types 3..7 are
//! reserved too. Both fail the connection, as does a frame longer than the maximum the router
//! announced (checked on the header, before any of the payload is read).

use std::io;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::transport::rawsocket::handshake::MAX_FRAME_LENGTH;

const HEADER: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameType {
    Message,
    Ping,
    Pong,
}

impl FrameType {
    fn bits(self) -> u8 {
        match self {
            FrameType::Message => 0,
            FrameType::Ping => 1,
            FrameType::Pong => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: FrameType,
    pub payload: Bytes,
}

/// Why a peer's frames cannot be read any further.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("reserved bits set in frame header octet {0:#04x}")]
    ReservedBits(u8),
    #[error("reserved frame type {0}")]
    ReservedType(u8),
    #[error("frame of {length} bytes is longer than max_message_size ({max} bytes)")]
    TooLong { length: usize, max: usize },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads frames up to `max_length` payload octets; writes frames of any length a header can
/// say (the caller keeps to what the peer accepts).
#[derive(Debug, Clone, Copy)]
pub struct Codec {
    pub max_length: usize,
}

impl Decoder for Codec {
    type Item = Frame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let Some(&[first, a, b, c]) = src.get(..HEADER) else {
            return Ok(None);
        };
        if first & 0xF8 != 0 {
            return Err(FrameError::ReservedBits(first));
        }
        let kind = match first & 0x07 {
            0 => FrameType::Message,
            1 => FrameType::Ping,
            2 => FrameType::Pong,
            other => return Err(FrameError::ReservedType(other)),
        };
        let length = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
        if length > self.max_length {
            return Err(FrameError::TooLong {
                length,
                max: self.max_length,
            });
        }
        if src.len() < HEADER + length {
            src.reserve(HEADER + length - src.len());
            return Ok(None);
        }
        src.advance(HEADER);
        let payload = src.split_to(length).freeze();
        Ok(Some(Frame { kind, payload }))
    }
}

impl Encoder<Frame> for Codec {
    type Error = io::Error;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> io::Result<()> {
        let length = frame.payload.len();
        let Ok(length_bits) = u32::try_from(length) else {
            return Err(too_long(length));
        };
        if length > MAX_FRAME_LENGTH {
            return Err(too_long(length));
        }
        dst.reserve(HEADER + length);
        dst.put_u32(u32::from(frame.kind.bits()) << 24 | length_bits);
        dst.put_slice(&frame.payload);
        Ok(())
    }
}

fn too_long(length: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("a RawSocket frame carries at most {MAX_FRAME_LENGTH} bytes, not {length}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(max_length: usize, bytes: &[u8]) -> Result<Option<Frame>, FrameError> {
        Codec { max_length }.decode(&mut BytesMut::from(bytes))
    }

    fn encode(kind: FrameType, payload: &[u8]) -> Vec<u8> {
        let mut dst = BytesMut::new();
        Codec { max_length: 0 }
            .encode(
                Frame {
                    kind,
                    payload: Bytes::copy_from_slice(payload),
                },
                &mut dst,
            )
            .unwrap();
        dst.to_vec()
    }

    #[test]
    fn round_trip_of_every_type() {
        for kind in [FrameType::Message, FrameType::Ping, FrameType::Pong] {
            let bytes = encode(kind, b"hello");
            assert_eq!(bytes[..4], [kind.bits(), 0, 0, 5]);
            let frame = decode(5, &bytes).unwrap().unwrap();
            assert_eq!((frame.kind, &frame.payload[..]), (kind, &b"hello"[..]));
        }
        assert_eq!(
            encode(FrameType::Message, &[7; 0x1_0203])[..4],
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn waits_for_the_whole_frame_and_leaves_the_next_one() {
        let mut codec = Codec { max_length: 100 };
        let mut src = BytesMut::from(&[0u8, 0, 0][..]);
        assert!(codec.decode(&mut src).unwrap().is_none());
        src.extend_from_slice(&[3, b'a', b'b']);
        assert!(codec.decode(&mut src).unwrap().is_none());
        src.extend_from_slice(&[b'c', 1, 0, 0, 0]);
        let frame = codec.decode(&mut src).unwrap().unwrap();
        assert_eq!(&frame.payload[..], b"abc");
        let ping = codec.decode(&mut src).unwrap().unwrap();
        assert_eq!((ping.kind, ping.payload.len()), (FrameType::Ping, 0));
        assert!(src.is_empty());
    }

    #[test]
    fn reserved_bits_and_types_fail() {
        for first in [0x08, 0x10, 0x80, 0xF0] {
            assert!(matches!(
                decode(10, &[first, 0, 0, 0]),
                Err(FrameError::ReservedBits(b)) if b == first
            ));
        }
        for kind in 3..=7 {
            assert!(matches!(
                decode(10, &[kind, 0, 0, 0]),
                Err(FrameError::ReservedType(k)) if k == kind
            ));
        }
    }

    #[test]
    fn a_frame_longer_than_the_maximum_fails_on_its_header() {
        let err = decode(512, &[0, 0, 2, 1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame of 513 bytes is longer than max_message_size (512 bytes)"
        );
        assert!(decode(512, &[0, 0, 2, 0]).unwrap().is_none());
    }

    #[test]
    fn encoding_refuses_what_a_header_cannot_say() {
        let frame = Frame {
            kind: FrameType::Message,
            payload: Bytes::from(vec![0; MAX_FRAME_LENGTH + 1]),
        };
        assert!(
            Codec { max_length: 0 }
                .encode(frame, &mut BytesMut::new())
                .is_err()
        );
    }
}
