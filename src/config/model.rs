//! The validated, typed model of `config.json` that the rest of Junction runs from.
//!
//! Parsing and validation (`config/load.rs`) turn Crossbar-shaped JSON into these types;
//! nothing outside `config/` ever looks at raw JSON. Defaults are applied during loading,
//! so every field here holds the value in force.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::config::secret::Secret;
use crate::wamp::uri::MatchPolicy;

/// The whole node: every router worker's realms and transports.
#[derive(Debug, Clone)]
pub struct Config {
    pub workers: Vec<Worker>,
    /// The folder of the config file (relative data paths are resolved against it).
    pub folder: PathBuf,
    /// JSON paths of keys that were accepted but have no effect in Junction
    /// (Crossbar process-model keys such as `controller`, worker `options`, a permission's `cache`).
    pub ignored: Vec<String>,
}

/// A `workers[]` entry of type `router`.
#[derive(Debug, Clone)]
pub struct Worker {
    pub realms: Vec<RealmConfig>,
    pub transports: Vec<TransportConfig>,
}

#[derive(Debug, Clone)]
pub struct RealmConfig {
    pub name: String,
    pub roles: Vec<RoleConfig>,
    pub uri_check: UriCheck,
    /// `options.enable_meta_api` (default true): the `wamp.*` meta procedures and events.
    pub meta_api: bool,
    /// `topics`: http-poller topics (a Junction key, in the Streams topic shape).
    pub topics: Vec<TopicDefinition>,
    /// `store`: where poller state, retained events and event history live; `None` when not
    /// written (the router then picks one, see [`default_store`]).
    pub store: Option<StoreConfig>,
    /// `store.event-history`: the topics whose publications are recorded, with their bounds.
    pub event_history: Vec<HistoryRule>,
}

/// One `store.event-history[]` rule (Crossbar's shape): publications on topics that `uri`
/// matches under `policy` are recorded, the newest `limit` kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRule {
    pub uri: String,
    pub policy: MatchPolicy,
    pub limit: usize,
}

/// A realm `store` (Crossbar's key; its `event-history` rules are [`RealmConfig::event_history`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// `{"type": "memory"}`: nothing survives a restart.
    Memory,
    /// `{"type": "embedded", "path": "..."}`: one redb file (path relative to the config
    /// file's folder; default `.junction/<realm>.redb`).
    Embedded { path: PathBuf },
}

/// The store of a realm that has pollers or a topics API but no `store` key: embedded, in
/// `.junction/<realm>.redb` beside `config.json` (Crossbar keeps its node data beside its
/// config too).
pub fn default_store(folder: &std::path::Path, realm: &str) -> StoreConfig {
    let file = format!("{}.redb", realm.replace(['/', '\\'], "_"));
    let joined = folder.join(".junction").join(file);
    StoreConfig::Embedded {
        path: std::path::absolute(&joined).unwrap_or(joined),
    }
}

/// A topic from `config.json`: the validated topic and the JSON it was written as (what the
/// topics API shows, secrets redacted). `Debug` leaves the JSON out: it may hold secrets.
#[derive(Clone)]
pub struct TopicDefinition {
    pub topic: crate::config::topic::TopicConfig,
    pub source: serde_json::Value,
}

impl std::fmt::Debug for TopicDefinition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.topic.fmt(f)
    }
}

/// Realm option `uri_check`: how strictly URIs in client messages are validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UriCheck {
    #[default]
    Loose,
    Strict,
}

#[derive(Debug, Clone)]
pub struct RoleConfig {
    pub name: String,
    pub permissions: Vec<PermissionConfig>,
    /// `authorizer`: the procedure that decides for this role (dynamic authorization);
    /// such a role has no `permissions`.
    pub authorizer: Option<String>,
}

/// One entry of a role's `permissions`. Both Crossbar shapes load into this:
/// `{"uri", "match", "allow": {...}, "disclose": {...}}` and the old
/// `{"uri": "*", "publish": true, "subscribe": true, "call": true, "register": true}`.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionConfig {
    /// The URI as written, possibly with `*` (starred form) when `match_policy` is `None`.
    pub uri: String,
    /// `match` as written; `None` means "derive it from the stars in `uri`".
    pub match_policy: Option<MatchPolicy>,
    pub allow: Allow,
    pub disclose: Disclose,
}

/// Turns a permission URI into (pattern, policy): explicit `match` wins, else the stars decide.
pub fn permission_pattern(uri: &str, policy: Option<MatchPolicy>) -> (String, MatchPolicy) {
    if let Some(policy) = policy {
        return (uri.to_owned(), policy);
    }
    match uri.find('*') {
        None => (uri.to_owned(), MatchPolicy::Exact),
        Some(i) if i == uri.len() - 1 => (uri[..i].to_owned(), MatchPolicy::Prefix),
        Some(_) => (uri.replace('*', ""), MatchPolicy::Wildcard),
    }
}

/// `allow`: absent actions are denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Allow {
    pub call: bool,
    pub register: bool,
    pub publish: bool,
    pub subscribe: bool,
}

/// `disclose`: `None` when not written (then a client's `disclose_me` decides),
/// `Some(false)` forbids disclosure even when asked, `Some(true)` always discloses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Disclose {
    pub caller: Option<bool>,
    pub publisher: Option<bool>,
}

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

impl Config {
    /// The realms served by a topics API path: they get pollers even without config topics.
    pub fn topics_api_realms(&self) -> Vec<String> {
        let mut realms = Vec::new();
        for transport in self.workers.iter().flat_map(|w| &w.transports) {
            if let Some(paths) = transport.kind.paths() {
                for service in paths.values() {
                    if let PathService::TopicsApi(api) = service
                        && !realms.contains(&api.realm)
                    {
                        realms.push(api.realm.clone());
                    }
                }
            }
        }
        realms
    }
}

/// `{"type": "publisher", "realm", "role", "options": {...}}`
#[derive(Debug, Clone)]
pub struct PublisherService {
    pub realm: String,
    /// The role of the internal session that publishes; its permissions apply.
    pub role: String,
    pub options: BridgeOptions,
}

/// `{"type": "caller", "realm", "role", "options": {..., "timeout"}}`
#[derive(Debug, Clone)]
pub struct CallerService {
    pub realm: String,
    pub role: String,
    pub options: BridgeOptions,
    /// `options.timeout` (ms in the file), default 30 s: a call not answered by then gets
    /// `wamp.error.timeout`.
    pub timeout: Duration,
}

/// The options publisher and caller paths share (Crossbar's names).
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// `key` + `secret` (both or neither): requests must be signed.
    pub signing: Option<SigningKey>,
    /// `post_body_limit` in bytes; absent: 1 MiB (Crossbar's ceiling); 0: no limit of its own
    /// (the server's hard cap of 64 MiB still applies).
    pub post_body_limit: usize,
    /// `timestamp_delta_limit` (seconds in the file, 0 to 86400 as in Crossbar), default 300 s;
    /// applies whenever a `timestamp` query argument is given. `None` (0 in the file): no
    /// window, as Crossbar reads 0; the timestamp must still be well formed.
    pub timestamp_delta_limit: Option<Duration>,
    /// `require_ip`: IPs and networks (CIDR or `a.b.c.d/255.255.255.0`); `None` = anyone.
    pub require_ip: Option<Vec<IpNet>>,
    /// `require_tls`: refuse requests that did not come over TLS.
    pub require_tls: bool,
    /// `debug`: log each request (never its signature or the secret).
    pub debug: bool,
    /// `success_status`: 202 (default for publisher, what crossbarconnect accepts) or 200
    /// (Crossbar's answer today; the caller's default).
    pub success_status: u16,
    /// Junction: `strict_status` (default false): WAMP errors answered with 403/400/404/504
    /// instead of Crossbar's 200.
    pub strict_status: bool,
    /// Junction: `allowed_origins`, which web pages may use this path from a visitor's browser.
    pub allowed_origins: AllowedOrigins,
}

/// `allowed_origins` of a bridge path: patterns where `*` matches any run of characters
/// (`["*"]`: any page, Crossbar's behaviour). A request without `Origin` (curl, scripts,
/// crossbarconnect) and a page of the same origin are always served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(pub Vec<String>);

impl AllowedOrigins {
    /// Whether a page at `origin` may use the path; `host` is the request's `Host`.
    pub fn allows(&self, origin: &str, host: Option<&str>) -> bool {
        let same_origin = host.is_some_and(|host| {
            origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
        });
        same_origin || self.0.iter().any(|p| wildcard_match(p, origin))
    }

    /// Whether every page may (`"*"` is listed).
    pub fn any(&self) -> bool {
        self.0.iter().any(|p| p == "*")
    }
}

/// `pattern` with `*` matching any run of characters (WebSocket's and the bridge's
/// `allowed_origins`).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[derive(Debug, Clone)]
pub struct SigningKey {
    pub key: String,
    pub secret: Secret,
}

/// `{"type": "webhook", "realm", "role", "options": {...}}`
#[derive(Debug, Clone)]
pub struct WebhookService {
    pub realm: String,
    pub role: String,
    /// `topic` (required): where each request is published.
    pub topic: String,
    /// `success_response` (default `"OK"`), the 202 body.
    pub success_response: String,
    /// `error_response` (default `"NOT OK"`), the 500 body.
    pub error_response: String,
    /// `github_secret`: check `X-Hub-Signature` / `X-Hub-Signature-256`.
    pub github_secret: Option<Secret>,
    /// `post_body_limit`, as for publishers (absent: 1 MiB, 0: hard cap only).
    pub post_body_limit: usize,
    /// Junction: `methods` (default `["POST"]`; `POST` and/or `PUT`).
    pub methods: Vec<String>,
    /// Junction: `decode: "json"` publishes the parsed body (kwargs when an object, else the
    /// single arg) instead of Crossbar's `{headers, body}`.
    pub decode_json: bool,
    /// Junction: `allowed_origins`, as for publishers.
    pub allowed_origins: AllowedOrigins,
}

/// A WAMP-over-WebSocket service: `serializers`, `auth`, `options`.
#[derive(Debug, Clone)]
pub struct WebSocketService {
    /// The serializers served (each also in its batched variant); default all of them, as
    /// Crossbar serves all available. The client's order of preference decides which is used.
    pub serializers: Vec<SerializerName>,
    pub auth: AuthConfig,
    pub options: WebSocketOptions,
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

/// The `auth` block of a WebSocket or RawSocket service. Without an `auth` block, Crossbar (and Junction)
/// allow anonymous with role `anonymous`, which `load` expresses as `anonymous: Some(..)`.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub anonymous: Option<AnonymousAuth>,
    pub ticket: Option<TicketAuth>,
    pub wampcra: Option<WampcraAuth>,
    /// Boxed so that a WebSocket service stays small next to the other transport kinds.
    pub cryptosign: Option<Box<CryptosignAuth>>,
}

/// `"anonymous": {"type": "static", "role": "..."}`
#[derive(Debug, Clone)]
pub struct AnonymousAuth {
    pub role: String,
}

/// `"ticket": {"type": "static", "principals": {"authid": {"ticket": "...", "role": "..."}}}`
#[derive(Debug, Clone)]
pub struct TicketAuth {
    pub principals: BTreeMap<String, TicketPrincipal>,
}

#[derive(Debug, Clone)]
pub struct TicketPrincipal {
    pub ticket: Secret,
    pub role: String,
}

/// `"wampcra": {"type": "static", "users": {"authid": {"secret", "role", "salt"?, "iterations"?, "keylen"?}}}`
#[derive(Debug, Clone)]
pub struct WampcraAuth {
    pub users: BTreeMap<String, WampcraUser>,
}

#[derive(Debug, Clone)]
pub struct WampcraUser {
    pub secret: Secret,
    pub role: String,
    /// Present for salted users; then `iterations` (default 1000) and `keylen` (default 32) apply.
    pub salt: Option<String>,
    pub iterations: u32,
    pub keylen: u32,
}

/// `"cryptosign": {"type": "static", "principals": {"authid": {"authorized_keys": [...], "role", "realm"?}}}`
#[derive(Debug, Clone)]
pub struct CryptosignAuth {
    pub principals: BTreeMap<String, CryptosignPrincipal>,
}

#[derive(Debug, Clone)]
pub struct CryptosignPrincipal {
    /// Ed25519 public keys (64 hex characters in the file), checked at load to be valid,
    /// non-weak curve points; at least one.
    pub authorized_keys: Vec<ed25519_dalek::VerifyingKey>,
    pub role: String,
    /// `realm`: the only realm this principal may join (Crossbar would move the session
    /// there instead; Junction refuses a HELLO for another realm).
    pub realm: Option<String>,
}
