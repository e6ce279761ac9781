//! An `EventSource`-like client for the `sse-fanout` scenario: one plain HTTP/1.1 GET per
//! stream, the `text/event-stream` body parsed incrementally as it arrives.
//!
//! Hand-written on purpose, like [`crate::http`]: a thousand streams live in one generator
//! pinned to one core, so each read takes everything that arrived (one syscall for many
//! events), the chunked transfer coding and the event stream are parsed in place without
//! allocating per event, and of each event only the stamp in its `data:` is decoded. It
//! understands what an SSE server answers: a chunked body or one that runs until the
//! connection closes. Of the event fields only `data` matters here (`id`, `event`, `retry`
//! and comments are skipped); lines end with LF or CRLF.

use std::net::IpAddr;

use serde::Deserialize;
use serde::de::IgnoredAny;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::Target;
use crate::subscriber::Feed;
use crate::wamp::{self, Result};

/// Bytes read at once: many events per syscall when they come fast.
const READ_BUFFER: usize = 16 * 1024;
/// Most bytes of response head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// One open event stream.
pub struct EventStream {
    stream: TcpStream,
    buf: Vec<u8>,
    body: Body,
}

impl EventStream {
    /// GETs `target` (from `source` when given) and reads the response head: the stream is
    /// open (and the server subscribed) once it answered 200 `text/event-stream`.
    pub async fn open(target: &Target, source: Option<IpAddr>) -> Result<EventStream> {
        let mut stream = wamp::connect(target.addr, source).await?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
            target.path, target.host
        );
        stream.write_all(request.as_bytes()).await?;
        let mut buf = vec![0; READ_BUFFER];
        let mut filled = 0;
        loop {
            if filled == buf.len() {
                if buf.len() >= MAX_HEAD {
                    return Err("the response head is too long".into());
                }
                buf.resize(buf.len() * 2, 0);
            }
            let n = stream.read(&mut buf[filled..]).await?;
            if n == 0 {
                return Err("the server closed the connection before answering".into());
            }
            filled += n;
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            let httparse::Status::Complete(head) = response.parse(&buf[..filled])? else {
                continue;
            };
            let chunked = stream_kind(&response)?;
            let mut body = Body::new(chunked);
            let mut early = Vec::new();
            body.feed(&buf[head..filled], &mut early)?;
            if !early.is_empty() {
                return Err("events arrived before any was published".into());
            }
            return Ok(EventStream { stream, buf, body });
        }
    }
}

/// Whether the body is chunked, after checking the head is an event stream's.
fn stream_kind(response: &httparse::Response) -> Result<bool> {
    let status = response.code.unwrap_or(0);
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
    };
    if status != 200 {
        return Err(format!("the server answered {status}, not 200").into());
    }
    let kind = header("content-type").unwrap_or_default();
    if !kind.starts_with("text/event-stream") {
        return Err(format!("the server answered {kind:?}, not text/event-stream").into());
    }
    Ok(header("transfer-encoding").is_some_and(|te| te.contains("chunked")))
}

impl Feed for EventStream {
    async fn burst(&mut self, stamps: &mut Vec<Option<u64>>) -> Result<()> {
        while stamps.is_empty() {
            let n = self.stream.read(&mut self.buf).await?;
            if n == 0 {
                return Err("the server ended the event stream".into());
            }
            self.body.feed(&self.buf[..n], stamps)?;
        }
        Ok(())
    }

    async fn close(mut self) {
        let _ = self.stream.shutdown().await;
    }
}

/// The response body: the transfer coding taken off, then the event stream parsed.
struct Body {
    /// `None`: not chunked (the body runs until the connection closes).
    chunks: Option<Chunks>,
    events: Events,
}

impl Body {
    fn new(chunked: bool) -> Body {
        Body {
            chunks: chunked.then_some(Chunks::Size(0)),
            events: Events::default(),
        }
    }

    /// Parses `input`, the next bytes of the body; appends the stamp of each complete event.
    fn feed(&mut self, input: &[u8], stamps: &mut Vec<Option<u64>>) -> Result<()> {
        match &mut self.chunks {
            None => {
                self.events.feed(input, stamps);
                Ok(())
            }
            Some(chunks) => chunks.decode(input, |data| self.events.feed(data, stamps)),
        }
    }
}

/// Where the chunked decoder is (RFC 9112 7.1): reading a size line (its value so far, or
/// `SizeTail` for an extension after it), the data of a chunk (bytes left), or the CRLF
/// after the data (bytes left). Trailers after the last chunk are not expected: the stream
/// has ended then.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Chunks {
    Size(u64),
    SizeTail(u64),
    Data(u64),
    DataEnd(u8),
    End,
}

impl Chunks {
    /// Takes the framing off `input`, handing each piece of chunk data to `data`.
    fn decode(&mut self, mut input: &[u8], mut data: impl FnMut(&[u8])) -> Result<()> {
        while !input.is_empty() {
            match *self {
                Chunks::Data(left) => {
                    let n = input.len().min(left as usize);
                    data(&input[..n]);
                    input = &input[n..];
                    *self = match left - n as u64 {
                        0 => Chunks::DataEnd(2),
                        left => Chunks::Data(left),
                    };
                }
                Chunks::DataEnd(left) => {
                    let n = input.len().min(left as usize);
                    if input[..n].iter().any(|&b| b != b'\r' && b != b'\n') {
                        return Err("a chunk is longer than its size".into());
                    }
                    input = &input[n..];
                    *self = match left - n as u8 {
                        0 => Chunks::Size(0),
                        left => Chunks::DataEnd(left),
                    };
                }
                Chunks::Size(size) | Chunks::SizeTail(size) => {
                    let byte = input[0];
                    input = &input[1..];
                    *self = self.size_byte(size, byte)?;
                }
                Chunks::End => return Err("data after the last chunk".into()),
            }
        }
        Ok(())
    }

    /// The state after one more byte of a size line.
    fn size_byte(self, size: u64, byte: u8) -> Result<Chunks> {
        let tail = matches!(self, Chunks::SizeTail(_));
        Ok(match byte {
            b'\n' if size == 0 => Chunks::End,
            b'\n' => Chunks::Data(size),
            _ if tail => self,
            b'\r' | b';' | b' ' | b'\t' => Chunks::SizeTail(size),
            _ => {
                let digit = (byte as char)
                    .to_digit(16)
                    .ok_or("a chunk size is not hexadecimal")?;
                let size = size
                    .checked_mul(16)
                    .filter(|s| *s < 1 << 40)
                    .ok_or("a chunk size is too large")?;
                Chunks::Size(size + digit as u64)
            }
        })
    }
}

/// The event stream parser: the line not complete yet, and the `data` of the event being
/// read (an event ends at a blank line).
#[derive(Default)]
struct Events {
    partial: Vec<u8>,
    data: Vec<u8>,
}

impl Events {
    fn feed(&mut self, mut input: &[u8], stamps: &mut Vec<Option<u64>>) {
        while let Some(end) = input.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                self.line(&input[..end], stamps);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&input[..end]);
                self.line(&line, stamps);
                line.clear();
                self.partial = line;
            }
            input = &input[end + 1..];
        }
        self.partial.extend_from_slice(input);
    }

    fn line(&mut self, line: &[u8], stamps: &mut Vec<Option<u64>>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if !self.data.is_empty() {
                stamps.push(stamp(&self.data));
                self.data.clear();
            }
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => (&line[..colon], &line[colon + 1..]),
            None => (line, &b""[..]),
        };
        if field == b"data" {
            if !self.data.is_empty() {
                self.data.push(b'\n');
            }
            let value = value.strip_prefix(b" ").unwrap_or(value);
            // An empty data line still makes an event; a newline keeps `data` non-empty.
            self.data
                .extend_from_slice(if value.is_empty() { b"\n" } else { value });
        }
    }
}

/// The publish stamp in an event's data: the first of Junction's `args`
/// (`{"topic", "args": [stamp, padding], "kwargs", "publication"}`); `None` when there is none.
fn stamp(data: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Data {
        args: (u64, IgnoredAny),
    }
    serde_json::from_slice::<Data>(data).ok().map(|d| d.args.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` to a body in pieces of `step` bytes; the stamps seen.
    fn parse(chunked: bool, input: &[u8], step: usize) -> Result<Vec<Option<u64>>> {
        let mut body = Body::new(chunked);
        let mut stamps = Vec::new();
        for piece in input.chunks(step) {
            body.feed(piece, &mut stamps)?;
        }
        Ok(stamps)
    }

    const STREAM: &[u8] = b"retry: 3000\n\n: heartbeat\n\n\
        id: 7\ndata: {\"topic\":\"t\",\"args\":[123,\"xx\"],\"kwargs\":{},\"publication\":7}\n\n\
        id: 8\r\nevent: t\r\ndata: {\"args\":[456,\"\"]}\r\n\r\n\
        data: not json\n\n";

    fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = body;
        for &size in sizes.iter().chain(std::iter::repeat(&7)) {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            out.extend_from_slice(format!("{:X};ext=1\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
            rest = tail;
        }
        out
    }

    #[test]
    fn events_are_found_whatever_the_pieces() {
        let want = vec![Some(123), Some(456), None];
        for step in [1, 2, 3, 5, 64, STREAM.len()] {
            assert_eq!(parse(false, STREAM, step).unwrap(), want, "step {step}");
            let body = chunked(STREAM, &[1, 40, 3]);
            assert_eq!(
                parse(true, &body, step).unwrap(),
                want,
                "chunked, step {step}"
            );
        }
    }

    #[test]
    fn an_event_is_complete_only_at_its_blank_line() {
        let stamps = parse(false, b"data: {\"args\":[1,0]}\n", 4).unwrap();
        assert!(stamps.is_empty());
    }

    #[test]
    fn broken_chunking_is_an_error() {
        assert!(parse(true, b"zz\r\n", 1).is_err());
        assert!(parse(true, b"2\r\nabc\r\n", 1).is_err());
        assert!(
            parse(true, b"0\r\n\r\n", 1).is_err(),
            "nothing after the last chunk"
        );
        assert!(parse(true, b"FFFFFFFFFFFF\r\n", 1).is_err());
        assert!(parse(true, b"0\r\n", 1).unwrap().is_empty());
    }
}
