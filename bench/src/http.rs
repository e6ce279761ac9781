//! A minimal keep-alive HTTP/1.1 client for POSTing to pusher paths, and Crossbar's pusher
//! signature.
//!
//! Hand-written on purpose: one request in flight per connection, the request written with one
//! syscall, the response parsed in place by `httparse`, so the client costs a fraction of what
//! the server spends per request and the measurement is the server's. It understands exactly
//! what pushers answer: `Content-Length` or chunked bodies, and `Connection: close`.
//!
//! Signing follows Crossbar's contract (`shared/reference/http-bridge.md`):
//! `signature = base64url(HMAC-SHA256(secret, key + timestamp + seq + nonce + body))`, padded.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wamp::Result;

/// A pusher URL taken apart: where to connect and what to put in the request line.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
    /// Path with the URL's own query, if any (`/push`, `/push?x=1`).
    pub path: String,
}

impl Target {
    pub async fn parse(url: &str) -> Result<Target> {
        let url = url::Url::parse(url)?;
        if url.scheme() != "http" {
            return Err(format!("only http:// URLs are supported, not {url}").into());
        }
        let host = url.host_str().ok_or("the URL has no host")?.to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await?
            .next()
            .ok_or("the URL's host has no address")?;
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path = format!("{path}?{q}");
        }
        Ok(Target {
            addr,
            host: format!("{host}:{port}"),
            path,
        })
    }
}

/// A response: status and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One kept-alive connection; reconnects when the server closed it.
pub struct Connection {
    target: Target,
    stream: Option<TcpStream>,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl Connection {
    pub fn new(target: Target) -> Connection {
        Connection {
            target,
            stream: None,
            request: Vec::with_capacity(1024),
            buf: Vec::with_capacity(4096),
        }
    }

    /// POST `body` as `application/json` to the target path plus `query` (appended with `?`
    /// or `&`; empty for none).
    pub async fn post(&mut self, query: &str, body: &[u8]) -> Result<Response> {
        self.request.clear();
        let sep = if self.target.path.contains('?') {
            '&'
        } else {
            '?'
        };
        let query_part = if query.is_empty() {
            String::new()
        } else {
            format!("{sep}{query}")
        };
        self.request.extend_from_slice(
            format!(
                "POST {}{} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n",
                self.target.path,
                query_part,
                self.target.host,
                body.len()
            )
            .as_bytes(),
        );
        self.request.extend_from_slice(body);
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.target.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().expect("connected above");
        if let Err(e) = stream.write_all(&self.request).await {
            self.stream = None;
            return Err(e.into());
        }
        let (response, keep_alive) = match read_response(stream, &mut self.buf).await {
            Ok(r) => r,
            Err(e) => {
                self.stream = None;
                return Err(e);
            }
        };
        if !keep_alive {
            self.stream = None;
        }
        Ok(response)
    }
}

/// How the body of a response is delimited.
enum Framing {
    Length(usize),
    Chunked,
}

/// Reads one response; returns it and whether the connection stays open.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(Response, bool)> {
    buf.clear();
    let (status, framing, keep_alive, head_len) = loop {
        if read_more(stream, buf).await? == 0 {
            return Err("the server closed the connection".into());
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head_len) = response.parse(buf)? {
            let status = response.code.unwrap_or(0);
            let mut framing = Framing::Length(0);
            let mut keep_alive = response.version == Some(1);
            for h in response.headers.iter() {
                let value = std::str::from_utf8(h.value).unwrap_or("").trim();
                if h.name.eq_ignore_ascii_case("content-length") {
                    framing = Framing::Length(value.parse()?);
                } else if h.name.eq_ignore_ascii_case("transfer-encoding")
                    && value.eq_ignore_ascii_case("chunked")
                {
                    framing = Framing::Chunked;
                } else if h.name.eq_ignore_ascii_case("connection") {
                    keep_alive = !value.eq_ignore_ascii_case("close");
                }
            }
            break (status, framing, keep_alive, head_len);
        }
    };
    buf.drain(..head_len);
    let body = match framing {
        Framing::Length(n) => {
            while buf.len() < n {
                if read_more(stream, buf).await? == 0 {
                    return Err("the server closed the connection mid-body".into());
                }
            }
            buf[..n].to_vec()
        }
        Framing::Chunked => loop {
            if let Some(body) = dechunk(buf)? {
                break body;
            }
            if read_more(stream, buf).await? == 0 {
                return Err("the server closed the connection mid-body".into());
            }
        },
    };
    Ok((Response { status, body }, keep_alive))
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<usize> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// The body of a complete chunked message in `buf`, `None` while more bytes are needed.
fn dechunk(buf: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_end) = find(&buf[at..], b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&buf[at..at + line_end])?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)?;
        at += line_end + 2;
        if size == 0 {
            // Trailers are not used by pushers: expect the final CRLF.
            return Ok((buf.len() >= at + 2).then_some(body));
        }
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Crossbar's pusher signature: base64url with padding of HMAC-SHA256 over the concatenation.
pub fn signature(
    secret: &str,
    key: &str,
    timestamp: &str,
    seq: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    for part in [
        key.as_bytes(),
        timestamp.as_bytes(),
        seq.as_bytes(),
        nonce.as_bytes(),
        body,
    ] {
        mac.update(part);
    }
    URL_SAFE.encode(mac.finalize().into_bytes())
}

/// The query string of a signed request: `timestamp`, `seq`, `nonce`, `key`, `signature`.
pub fn signed_query(
    key: &str,
    secret: &str,
    timestamp: &str,
    seq: u64,
    nonce: u64,
    body: &[u8],
) -> String {
    let (seq, nonce) = (seq.to_string(), nonce.to_string());
    let signature = signature(secret, key, timestamp, &seq, &nonce, body);
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("timestamp", timestamp)
        .append_pair("seq", &seq)
        .append_pair("nonce", &nonce)
        .append_pair("key", key)
        .append_pair("signature", &signature)
        .finish()
}

/// Now in UTC with milliseconds, as crossbarconnect sends it: `2011-10-14T16:59:51.123Z`.
pub fn timestamp_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A random nonce in [0, 2^53], as crossbarconnect draws it.
pub fn nonce() -> u64 {
    rand::random_range(0..=(1u64 << 53))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_reference_vector() {
        // shared/reference/http-bridge.md, checked against Crossbar.
        let body = br#"{"topic":"com.myapp.topic1","args":["Hello, world"]}"#;
        let sig = signature(
            "secret123",
            "foobar",
            "2011-10-14T16:59:51.123Z",
            "1",
            "12345",
            body,
        );
        assert_eq!(sig, "_jbcYQRw2XTEWw-fbom5uWM_SWv-tKqQ4U8_fTToO3I=");
    }

    #[test]
    fn signed_query_carries_every_argument_url_encoded() {
        let body = br#"{"topic":"t"}"#;
        let q = signed_query("k", "s", "2011-10-14T16:59:51.123Z", 3, 99, body);
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect();
        let get = |n: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("timestamp"), "2011-10-14T16:59:51.123Z");
        assert!(q.contains("timestamp=2011-10-14T16%3A59%3A51.123Z"), "{q}");
        assert_eq!(get("seq"), "3");
        assert_eq!(get("nonce"), "99");
        assert_eq!(get("key"), "k");
        assert_eq!(
            get("signature"),
            signature("s", "k", "2011-10-14T16:59:51.123Z", "3", "99", body)
        );
    }

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = timestamp_now();
        assert_eq!(t.len(), "2011-10-14T16:59:51.123Z".len(), "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[19] == b'.', "{t}");
        assert!(nonce() <= 1 << 53);
    }

    #[test]
    fn chunked_bodies_are_joined_once_complete() {
        let full = b"4\r\n{\"id\r\n5\r\n\": 1}\r\n0\r\n\r\n";
        assert_eq!(dechunk(full).unwrap(), Some(br#"{"id": 1}"#.to_vec()));
        for cut in [3, 10, full.len() - 2, full.len() - 1] {
            assert_eq!(dechunk(&full[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(dechunk(b"zz\r\n").is_err());
    }

    #[tokio::test]
    async fn post_keeps_the_connection_and_reads_both_framings() {
        use tokio::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let answers: [&[u8]; 2] = [
                b"HTTP/1.1 202 Accepted\r\nContent-Length: 9\r\n\r\n{\"id\": 1}",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{\"id\": 2}\r\n0\r\n\r\n",
            ];
            let mut seen = Vec::new();
            for answer in answers {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap();
                seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                s.write_all(answer).await.unwrap();
            }
            seen
        });
        let target = Target::parse(&format!("http://{addr}/push")).await.unwrap();
        let mut conn = Connection::new(target);
        let first = conn.post("", b"{}").await.unwrap();
        assert_eq!(
            (first.status, first.body.as_slice()),
            (202, &br#"{"id": 1}"#[..])
        );
        let second = conn.post("seq=2", b"{}").await.unwrap();
        assert_eq!(
            (second.status, second.body.as_slice()),
            (200, &br#"{"id": 2}"#[..])
        );
        let seen = server.await.unwrap();
        assert!(
            seen[0].starts_with("POST /push HTTP/1.1\r\n"),
            "{}",
            seen[0]
        );
        assert!(seen[0].contains("Content-Length: 2\r\n") && seen[0].ends_with("\r\n\r\n{}"));
        assert!(
            seen[1].starts_with("POST /push?seq=2 HTTP/1.1\r\n"),
            "{}",
            seen[1]
        );
    }
}
