//! HTTP bridge helpers: requests to publisher/caller/webhook paths over a raw TCP stream,
//! Crossbar's request signing computed here from its definition (not with Junction's own
//! code), and assertions on the response contract (status, headers, JSON body).

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use super::{Client, HttpResponse, raw_http_body};

pub const JSON_UTF8: &str = "application/json; charset=utf-8";
pub const NO_CACHE: &str = "no-store,no-cache,must-revalidate,max-age=0";
pub const MAX_NONCE: u64 = 1 << 53;

/// A bridge path: `{"type": kind, "realm": "realm1", "role": role, "options": options}`.
pub fn bridge_path(kind: &str, role: &str, options: Value) -> Value {
    json!({"type": kind, "realm": "realm1", "role": role, "options": options})
}

/// A web transport on 127.0.0.1:0 with these paths and transport `options` (may be null).
pub fn web(paths: Value, options: Value) -> Value {
    let mut t = json!({
        "type": "web",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
        "paths": paths
    });
    if !options.is_null() {
        t["options"] = options;
    }
    t
}

/// `base64url(HMAC-SHA256(secret, key + timestamp + seq + nonce + body))`, padded.
pub fn signature(
    secret: &str,
    key: &str,
    timestamp: &str,
    seq: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
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

/// Crossbar's timestamp form (UTC, milliseconds, `Z`), `offset_secs` from now.
pub fn timestamp(offset_secs: i64) -> String {
    let when = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(offset_secs);
    when.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The arguments of a signed request, in crossbarconnect's order.
#[derive(Clone, Debug)]
pub struct Signed {
    pub timestamp: String,
    pub seq: String,
    pub key: String,
    pub nonce: String,
    pub signature: String,
}

impl Signed {
    /// Signed now, with a random nonce.
    pub fn new(key: &str, secret: &str, body: &[u8], seq: u64) -> Signed {
        Signed::with(
            key,
            secret,
            body,
            &seq.to_string(),
            &rand::random_range(0..=MAX_NONCE).to_string(),
            &timestamp(0),
        )
    }

    pub fn with(
        key: &str,
        secret: &str,
        body: &[u8],
        seq: &str,
        nonce: &str,
        timestamp: &str,
    ) -> Signed {
        Signed {
            timestamp: timestamp.into(),
            seq: seq.into(),
            key: key.into(),
            nonce: nonce.into(),
            signature: signature(secret, key, timestamp, seq, nonce, body),
        }
    }

    /// The query string (URL-encoded).
    pub fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("timestamp", &self.timestamp)
            .append_pair("seq", &self.seq)
            .append_pair("key", &self.key)
            .append_pair("nonce", &self.nonce)
            .append_pair("signature", &self.signature)
            .finish()
    }
}

/// An HTTP request: `method target` (path with query) with `Content-Type: application/json`
/// unless `headers` name another one, extra header lines, and `body`.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[&str],
    body: &[u8],
) -> HttpResponse {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("content-type:"))
    {
        head.push_str("Content-Type: application/json\r\n");
    }
    for line in headers {
        head.push_str(line);
        head.push_str("\r\n");
    }
    raw_http_body(addr, &head, body).await
}

/// POST of `body` (a JSON value, sent compact) to `target`.
pub async fn post_json(
    addr: SocketAddr,
    target: &str,
    headers: &[&str],
    body: &Value,
) -> HttpResponse {
    request(addr, "POST", target, headers, body.to_string().as_bytes()).await
}

/// The headers every bridge response carries: JSON content type (when `json_type`), no
/// caching, CORS for `origin` (`*` when the request had none).
#[track_caller]
pub fn assert_bridge_headers(res: &HttpResponse, origin: Option<&str>, json_type: bool) {
    if json_type {
        let ct = res
            .header("content-type")
            .map(|v| v.to_ascii_lowercase().replace(' ', ""));
        assert_eq!(
            ct.as_deref(),
            Some(JSON_UTF8.replace(' ', "").as_str()),
            "Content-Type: {res:?}"
        );
        assert_eq!(
            res.header("cache-control"),
            Some(NO_CACHE),
            "Cache-Control: {res:?}"
        );
    }
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some(origin.unwrap_or("*")),
        "{res:?}"
    );
    assert_eq!(
        res.header("access-control-allow-credentials"),
        Some("true"),
        "{res:?}"
    );
}

/// A refused request: `status` and `{"error": <message>, "args": [], "kwargs": {}}`; returns
/// the message.
#[track_caller]
pub fn assert_http_error(res: &HttpResponse, status: u16) -> String {
    assert_http_error_from(res, status, None)
}

#[track_caller]
pub fn assert_http_error_from(res: &HttpResponse, status: u16, origin: Option<&str>) -> String {
    assert_eq!(
        res.status,
        status,
        "expected {status}: {res:?} {}",
        String::from_utf8_lossy(&res.body)
    );
    assert_bridge_headers(res, origin, true);
    let body = res.json();
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {body}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["args", "error", "kwargs"],
        "error body shape: {body}"
    );
    assert_eq!(body["args"], json!([]), "{body}");
    assert_eq!(body["kwargs"], json!({}), "{body}");
    let message = body["error"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty(), "error message: {body}");
    message
}

/// A WAMP error outcome: `status` and `{"error": uri, ...}`; returns the body.
#[track_caller]
pub fn assert_wamp_error(res: &HttpResponse, uri: &str, status: u16) -> Value {
    assert_eq!(
        res.status,
        status,
        "expected {status} with {uri}: {res:?} {}",
        String::from_utf8_lossy(&res.body)
    );
    assert_bridge_headers(res, None, true);
    let body = res.json();
    assert_eq!(body["error"], uri, "{body}");
    body
}

/// A successful publish: `status` and exactly `{"id": <publication id>}`; returns the id.
#[track_caller]
pub fn assert_published(res: &HttpResponse, status: u16) -> u64 {
    assert_eq!(
        res.status,
        status,
        "expected {status}: {res:?} {}",
        String::from_utf8_lossy(&res.body)
    );
    assert_bridge_headers(res, None, true);
    let body = res.json();
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("success body: {body}"));
    assert_eq!(obj.len(), 1, "success body has only the id: {body}");
    let id = body["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("publication id: {body}"));
    assert!(
        (1..=MAX_NONCE).contains(&id),
        "publication id out of range: {body}"
    );
    id
}

/// The next EVENT `client` receives: (subscription, publication, args, kwargs). Panics if
/// another message or none comes.
pub async fn next_event(client: &mut Client) -> (u64, u64, Value, Value) {
    let msg = client.recv().await;
    assert_eq!(msg[0], 36, "expected EVENT, got {msg}");
    (
        msg[1].as_u64().unwrap(),
        msg[2].as_u64().unwrap(),
        msg.get(4).cloned().unwrap_or(json!([])),
        msg.get(5).cloned().unwrap_or(json!({})),
    )
}

/// A byte stream a [`Conn`] speaks HTTP/1.1 over: plain TCP or TLS.
pub trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

/// One kept-alive HTTP/1.1 connection: several requests, one after another, and the local
/// port it uses (the same port for every request shows that one TCP connection carried them).
pub struct Conn {
    stream: Box<dyn Stream>,
    buf: Vec<u8>,
    pub local_port: u16,
}

/// The test CA's certificate and the server certificate and key it signed for 127.0.0.1
/// (`tests/it/fixtures/tls`).
pub fn tls_files() -> (String, String, String) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures/tls");
    (
        format!("{dir}/ca.crt"),
        format!("{dir}/server.crt"),
        format!("{dir}/server.key"),
    )
}

/// A TLS client that trusts only the test CA.
pub fn tls_connector() -> tokio_rustls::TlsConnector {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_file(tls_files().0).expect("read the test CA");
    roots.add(ca).expect("add the test CA");
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Conn {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let local_port = tcp.local_addr().unwrap().port();
        Conn {
            stream: Box::new(tcp),
            buf: Vec::new(),
            local_port,
        }
    }

    /// A TLS connection to `addr` (127.0.0.1), checking the server certificate against the
    /// test CA.
    pub async fn open_tls(addr: SocketAddr) -> Conn {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let local_port = tcp.local_addr().unwrap().port();
        let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
        let tls = tls_connector()
            .connect(name, tcp)
            .await
            .expect("TLS handshake with the test certificate");
        Conn {
            stream: Box::new(tls),
            buf: Vec::new(),
            local_port,
        }
    }

    /// A request with `Content-Length` (and `Content-Type: application/json` unless
    /// `headers` name one); the connection is kept alive. Err when the server closed the
    /// connection instead of answering.
    pub async fn try_request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[&str],
        body: &[u8],
    ) -> Result<HttpResponse, String> {
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
            body.len()
        );
        push_headers(&mut head, headers);
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.exchange(&bytes).await
    }

    pub async fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[&str],
        body: &[u8],
    ) -> HttpResponse {
        self.try_request(method, target, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
    }

    /// A request whose body is sent with `Transfer-Encoding: chunked`, in chunks of `size`.
    pub async fn try_request_chunked(
        &mut self,
        method: &str,
        target: &str,
        headers: &[&str],
        body: &[u8],
        size: usize,
    ) -> Result<HttpResponse, String> {
        let mut head =
            format!("{method} {target} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n");
        push_headers(&mut head, headers);
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        for chunk in body.chunks(size) {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
        self.exchange(&bytes).await
    }

    /// Writes `bytes` as they are and reads one response.
    pub async fn exchange(&mut self, bytes: &[u8]) -> Result<HttpResponse, String> {
        tokio::time::timeout(super::RECV_TIMEOUT, async {
            use tokio::io::AsyncWriteExt;
            self.stream
                .write_all(bytes)
                .await
                .map_err(|e| format!("write: {e}"))?;
            self.stream
                .flush()
                .await
                .map_err(|e| format!("flush: {e}"))?;
            self.read_response().await
        })
        .await
        .map_err(|_| "no response within the timeout".to_owned())?
    }

    async fn fill(&mut self) -> Result<(), String> {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk).await {
            Ok(0) => Err(format!(
                "connection closed ({} bytes unread)",
                self.buf.len()
            )),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) => Err(format!("read: {e}")),
        }
    }

    async fn read_response(&mut self) -> Result<HttpResponse, String> {
        let header_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..header_end]).into_owned();
        self.buf.drain(..header_end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let find = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.to_ascii_lowercase())
        };
        let body = if let Some(len) = find("content-length") {
            let len: usize = len.parse().map_err(|_| format!("Content-Length {len}"))?;
            while self.buf.len() < len {
                self.fill().await?;
            }
            self.buf.drain(..len).collect()
        } else if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            let mut body = Vec::new();
            loop {
                let line_end = loop {
                    if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        break i;
                    }
                    self.fill().await?;
                };
                let line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16)
                    .map_err(|_| format!("chunk size {line:?}"))?;
                while self.buf.len() < line_end + 2 + size + 2 {
                    self.fill().await?;
                }
                body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
                self.buf.drain(..line_end + 2 + size + 2);
                if size == 0 {
                    break body;
                }
            }
        } else {
            while self.fill().await.is_ok() {}
            std::mem::take(&mut self.buf)
        };
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

fn push_headers(head: &mut String, headers: &[&str]) {
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("content-type:"))
    {
        head.push_str("Content-Type: application/json\r\n");
    }
    for line in headers {
        head.push_str(line);
        head.push_str("\r\n");
    }
}

/// Whether the response tells the client to close the connection.
pub fn says_close(res: &HttpResponse) -> bool {
    res.header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
}
