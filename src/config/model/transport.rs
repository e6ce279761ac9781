//! Transports as configured: endpoints (TCP, TLS files, Unix sockets), the kinds of
//! transport, web path tables and their services, WebSocket and RawSocket services and options.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::config::secret::Secret;

use super::*;

/// A `transports[]` entry.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// JSON path of this transport, e.g. `workers[0].transports[1]`, for logs and `check`.
    pub path: String,
    pub endpoint: Endpoint,
    pub kind: TransportKind,
}

/// A listening `endpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `{"type": "tcp", ...}`
    Tcp(TcpEndpoint),
    /// `{"type": "unix", "path": "..."}` (RawSocket transports only).
    Unix(UnixEndpoint),
}

impl Endpoint {
    /// The TCP endpoint, if this is one.
    pub fn tcp(&self) -> Option<&TcpEndpoint> {
        match self {
            Endpoint::Tcp(tcp) => Some(tcp),
            Endpoint::Unix(_) => None,
        }
    }

    /// The TLS files of a TCP endpoint with `tls`.
    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tcp().and_then(|tcp| tcp.tls.as_ref())
    }
}

/// `endpoint` of type `tcp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpEndpoint {
    /// `interface`; default `0.0.0.0` as in Crossbar (all IPv4 interfaces).
    pub interface: String,
    /// `port`; 0 lets the OS choose (tests use that and read the bound address from the log).
    pub port: u16,
    /// `backlog`, default 1024.
    pub backlog: u32,
    /// `tls`: `{"certificate": "server.crt", "key": "server.key"}` (PEM files; relative paths
    /// are resolved against the config file's folder).
    pub tls: Option<TlsFiles>,
    /// Junction: `max_connections`, the most connections served at once on this endpoint
    /// (default: what the process's open-file limit allows).
    pub max_connections: Option<usize>,
    /// Junction: `max_connections_per_ip`, the most from one client address (default 1000;
    /// trusted proxies are exempt).
    pub max_connections_per_ip: usize,
}

/// `endpoint` of type `unix`: a Unix domain socket. A stale socket file left by an earlier
/// run is removed when binding; any other kind of file at `path` is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixEndpoint {
    /// `path`, relative to the config file's folder when not absolute (made absolute at load).
    pub path: PathBuf,
    /// `backlog`, default 1024.
    pub backlog: u32,
}

/// PEM files of a TLS endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub certificate: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// `chain_certificates`: intermediate CA certificates sent after those of `certificate`.
    pub chain: Vec<PathBuf>,
    /// `ca_certificates`: the CAs whose client certificates are accepted. When there are any,
    /// every client must present a certificate one of them issued (as Crossbar: OpenSSL's
    /// VERIFY_PEER with FAIL_IF_NO_PEER_CERT); `tls` auth maps it to a principal.
    pub ca_certificates: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub enum TransportKind {
    /// `"type": "websocket"`: one WAMP-over-WebSocket service on every request path.
    WebSocket(WebSocketService),
    /// `"type": "web"`: a path table. Keys are normalised to start with `/`
    /// (Crossbar writes `"ws"` for `/ws` and `"/"` for the root).
    Web {
        paths: BTreeMap<String, PathService>,
        options: WebOptions,
    },
    /// `"type": "rawsocket"`: WAMP over RawSocket.
    RawSocket(RawSocketService),
    /// `"type": "universal"`: one port for RawSocket and HTTP. A connection whose first octet
    /// is 0x7F speaks RawSocket (`rawsocket`); any other is served as HTTP/1.1 by the path
    /// table made of the `websocket` paths and the `web.paths` (keys normalised as for `web`).
    Universal {
        rawsocket: Option<RawSocketService>,
        paths: BTreeMap<String, PathService>,
        /// `web.options`.
        options: WebOptions,
    },
}

impl TransportKind {
    /// `options.trusted_proxies` of a `web` or `universal` transport (none for the others).
    pub fn trusted_proxies(&self) -> &[IpNet] {
        match self {
            TransportKind::Web { options, .. } | TransportKind::Universal { options, .. } => {
                &options.trusted_proxies
            }
            TransportKind::WebSocket(_) | TransportKind::RawSocket(_) => &[],
        }
    }

    /// The path table served over HTTP, for `web` and `universal` transports.
    pub fn paths(&self) -> Option<&BTreeMap<String, PathService>> {
        match self {
            TransportKind::Web { paths, .. } | TransportKind::Universal { paths, .. } => {
                Some(paths)
            }
            TransportKind::WebSocket(_) | TransportKind::RawSocket(_) => None,
        }
    }
}

/// Options of a `web` transport Junction reads (in its `options`, beside Crossbar's ignored
/// ones).
#[derive(Debug, Clone, PartialEq)]
pub struct WebOptions {
    /// `trusted_proxies`: networks (`"10.0.0.0/8"`, `"127.0.0.1"`, `"::1"`, netmask form) whose
    /// `X-Forwarded-For` / `X-Forwarded-Proto` headers are believed for `require_ip` and
    /// `require_tls`. Empty (the default): the socket address and the listener's TLS count.
    pub trusted_proxies: Vec<IpNet>,
    /// `client_timeout` (seconds in the file, as Crossbar's): how long a keep-alive connection
    /// may stay idle between requests; default 60 s.
    pub client_timeout: Duration,
    /// Junction: `body_timeout` (ms in the file): the longest a request body may take to
    /// arrive; default 10 s. Past it the request gets 408 and the connection is closed.
    pub body_timeout: Duration,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            trusted_proxies: Vec::new(),
            client_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub enum PathService {
    /// `"type": "websocket"`: WAMP over WebSocket.
    WebSocket(WebSocketService),
    /// `"type": "websocket-testee"`: echoes every WebSocket message back (conformance testing).
    WebSocketTestee(WebSocketOptions),
    /// `"type": "publisher"` (alias `"pusher"`): HTTP POST -> PUBLISH.
    Publisher(PublisherService),
    /// `"type": "caller"`: HTTP POST -> CALL, the result in the response.
    Caller(CallerService),
    /// `"type": "webhook"`: any POST body -> one event.
    Webhook(WebhookService),
    /// `"type": "topics-api"` (Junction): create, read, patch and delete http-poller topics.
    TopicsApi(TopicsApiService),
    /// `"type": "static"`: files from a directory (the browser app beside `/ws`).
    Static(StaticService),
    /// `"type": "redirect"`: this path and everything below it redirect to `url`.
    Redirect { url: String, status: u16 },
    /// `"type": "json"`: a fixed JSON document.
    Json(JsonService),
    /// `"type": "nodeinfo"`: a page saying what this node is.
    NodeInfo,
    /// `"type": "none"`: nothing here (404), e.g. to keep `/` empty.
    Nothing,
    /// `"type": "health"` (Junction): liveness, 200 while the process serves.
    Health,
    /// `"type": "ready"` (Junction): readiness, 200 or 503 with a JSON body naming each check.
    Ready,
    /// `"type": "metrics"` (Junction): Prometheus metrics, OpenMetrics text.
    Metrics,
    /// `"type": "admin"` (Junction): the operator dashboard and its JSON API.
    Admin(crate::config::AdminService),
    /// `"type": "sse"` (Junction): a realm's events as Server-Sent Events.
    Sse(crate::config::model::SseService),
    /// `"type": "archive"`: files from a ZIP archive.
    Archive(ArchiveService),
    /// `"type": "cgi"`: scripts of a directory run as CGI programs.
    Cgi(CgiService),
    /// `"type": "longpoll"`: WAMP over HTTP long-poll (`config/longpoll.rs`).
    LongPoll(crate::config::LongPollService),
    /// `"type": "reverseproxy"`: this path and everything below it forwarded to a web server.
    ReverseProxy(ReverseProxyService),
    /// `"type": "websocket-reverseproxy"`: WebSocket connections relayed to a backend.
    WebSocketProxy(WebSocketProxyService),
    /// `"type": "upload"`: chunked file uploads (resumable.js) into a directory.
    Upload(UploadService),
    /// A path Junction accepts but does not run (Python code inside Crossbar: `wsgi`,
    /// `resource`, `wap`): answered with 501 and this text, what to run instead.
    NotRun(String),
}

/// `{"type": "json", "value", "options": {"prettify", "allow_cross_origin",
/// "discourage_caching"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonService {
    /// The document, already written out (compact, or indented with `prettify`).
    pub body: String,
    pub allow_cross_origin: bool,
    pub discourage_caching: bool,
}

/// `{"type": "static", "directory", "options": {"enable_directory_listing", "mime_types",
/// "cache_timeout", "default_file", "allow_cross_origin"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticService {
    /// The directory served, made absolute against the config file's folder (as Crossbar
    /// resolves it against its `.crossbar` folder).
    pub directory: PathBuf,
    /// `enable_directory_listing` (default false): a directory without `index.html` is listed.
    pub directory_listing: bool,
    /// `mime_types`: extension (with its dot) -> content type, over the built-in table.
    pub mime_types: BTreeMap<String, String>,
    /// `cache_timeout` in seconds (Crossbar's default 12 hours; `null` or 0: no caching headers).
    pub cache_timeout: Option<u64>,
    /// `default_file`: served for any path that names no file (single-page apps).
    pub default_file: Option<String>,
    /// `allow_cross_origin` (default true, as Crossbar): CORS headers on every answer.
    pub allow_cross_origin: bool,
}

/// `{"type": "topics-api", "realm", "options": {"bearer_token", "require_ip",
/// "post_body_limit"}}`: at least one of `bearer_token` and `require_ip`.
#[derive(Debug, Clone)]
pub struct TopicsApiService {
    pub realm: String,
    /// `bearer_token`: requests must send `Authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
    /// `require_ip`: only these networks may call.
    pub require_ip: Option<Vec<IpNet>>,
    /// `post_body_limit` (default 1 MiB): the largest topic definition or patch.
    pub post_body_limit: usize,
}

/// A WAMP-over-WebSocket service: `serializers`, `auth`, `options`.
#[derive(Debug, Clone)]
pub struct WebSocketService {
    /// The serializers served (each also in its batched variant); default all of them, as
    /// Crossbar serves all available. The client's order of preference decides which is used.
    pub serializers: Vec<SerializerName>,
    pub auth: AuthConfig,
    pub options: WebSocketOptions,
    /// `cookie`: cookie tracking (and with it `cookie` auth). Boxed: most paths have none.
    pub cookie: Option<Box<super::CookieTracking>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerializerName {
    Json,
    MsgPack,
    Cbor,
}

impl SerializerName {
    /// Every serializer Junction serves, the default of a WebSocket service.
    pub const ALL: [SerializerName; 3] = [
        SerializerName::Json,
        SerializerName::MsgPack,
        SerializerName::Cbor,
    ];

    /// The serialization this name stands for.
    pub fn serialization(self) -> crate::wamp::serializer::Serialization {
        use crate::wamp::serializer::Serialization;
        match self {
            SerializerName::Json => Serialization::Json,
            SerializerName::MsgPack => Serialization::MsgPack,
            SerializerName::Cbor => Serialization::Cbor,
        }
    }

    /// The name in config.json.
    pub fn as_str(self) -> &'static str {
        match self {
            SerializerName::Json => "json",
            SerializerName::MsgPack => "msgpack",
            SerializerName::Cbor => "cbor",
        }
    }
}

/// WebSocket `options` (Crossbar names, milliseconds where Crossbar uses them).
#[derive(Debug, Clone, PartialEq)]
pub struct WebSocketOptions {
    /// `max_message_size` in bytes (default 1 MiB); a larger message closes with code 1009.
    pub max_message_size: usize,
    /// `max_frame_size` in bytes (default: same as `max_message_size`).
    pub max_frame_size: usize,
    /// `auto_ping_interval` (ms in the file); `None` = no pings (the default).
    pub auto_ping_interval: Option<Duration>,
    /// `auto_ping_timeout` (ms in the file); default = the interval.
    pub auto_ping_timeout: Option<Duration>,
    /// `auto_ping_size` in bytes, 4..=125, default 4.
    pub auto_ping_size: usize,
    /// `allowed_origins`: patterns with `*` wildcards (e.g. `https://*.example.com`);
    /// `None` = any origin (Crossbar's default).
    pub allowed_origins: Option<Vec<String>>,
    /// `allow_null_origin` (default true): whether a request without Origin (or `null`) passes
    /// when `allowed_origins` is set.
    pub allow_null_origin: bool,
    /// `open_handshake_timeout` (ms in the file), default 10 s.
    pub open_handshake_timeout: Duration,
    /// Junction: `max_outbound_queue`, messages waiting to be written to one session
    /// (default 4096); a subscriber that lets it fill is disconnected.
    pub max_outbound_queue: usize,
    /// Junction: `max_outbound_bytes`, bytes waiting to be written to one session (default
    /// 16 MiB); a subscriber that lets it fill is disconnected.
    pub max_outbound_bytes: usize,
    /// Junction: `join_timeout` (ms in the file), default 10 s: the longest a connection may
    /// stay open after its handshake without joining a realm (HELLO to WELCOME).
    pub join_timeout: Duration,
    /// Junction: `max_failed_logins` (default 20): failed logins one client address may have
    /// in a burst (counted over all transports) before this service refuses its HELLOs; one
    /// is forgiven each second. 0: no limit.
    pub max_failed_logins: u32,
    /// `require_websocket_subprotocol` (default true, as Crossbar): a client that offers no
    /// WAMP subprotocol is refused with 400; false: it speaks `wamp.2.json`.
    pub require_subprotocol: bool,
    /// `enable_webstatus` (default true, as Crossbar): a plain GET (no upgrade) gets a small
    /// status page; false: a 426 JSON error.
    pub status_page: bool,
}

/// A WAMP-over-RawSocket service (a `rawsocket` transport, or the `rawsocket` part of a
/// `universal` one): `serializers`, `auth`, `max_message_size`, `options`.
#[derive(Debug, Clone)]
pub struct RawSocketService {
    /// The serializers served (default all); the client's handshake names the one it uses.
    pub serializers: Vec<SerializerName>,
    pub auth: AuthConfig,
    pub options: RawSocketOptions,
}

/// RawSocket options (WebSocket's names where they mean the same).
#[derive(Debug, Clone, PartialEq)]
pub struct RawSocketOptions {
    /// `max_message_size` in bytes as announced in the handshake and enforced on incoming
    /// frames: what the file says (default 1 MiB) rounded up to a power of two and held to
    /// the protocol's range 2^9..=2^24, as autobahn and Crossbar do.
    pub max_message_size: usize,
    /// `auto_ping_interval` (ms in the file); `None` = no pings (the default).
    pub auto_ping_interval: Option<Duration>,
    /// `auto_ping_timeout` (ms in the file); default = the interval.
    pub auto_ping_timeout: Option<Duration>,
    /// `auto_ping_size` in bytes, 4..=125, default 4.
    pub auto_ping_size: usize,
    /// `open_handshake_timeout` (ms in the file), default 10 s: the longest a client may take
    /// to send its 4-octet handshake (after TLS).
    pub open_handshake_timeout: Duration,
    /// `max_outbound_queue`, as for WebSocket (default 4096).
    pub max_outbound_queue: usize,
    /// `max_outbound_bytes`, as for WebSocket (default 16 MiB).
    pub max_outbound_bytes: usize,
    /// `join_timeout`, as for WebSocket (default 10 s).
    pub join_timeout: Duration,
    /// `max_failed_logins`, as for WebSocket (default 20).
    pub max_failed_logins: u32,
}

impl RawSocketOptions {
    /// The smallest and largest maximum message lengths the handshake can announce.
    pub const MIN_MESSAGE_SIZE: usize = 1 << 9;
    pub const MAX_MESSAGE_SIZE: usize = 1 << 24;

    /// The length exponent announced in the handshake: `max_message_size` = 2^(9 + exponent).
    pub fn length_exponent(&self) -> u8 {
        let bits = self.max_message_size.max(1).trailing_zeros().clamp(9, 24);
        (bits - 9) as u8
    }
}
