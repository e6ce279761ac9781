//! Listeners: bind every transport's endpoint (TCP, with TLS when `endpoint.tls` is set, or a
//! Unix socket), log where it listens, accept connections and serve each with what the
//! transport speaks: HTTP/1.1 with upgrades (`websocket`, `web`), RawSocket, or either by the
//! first octet (`universal`).

use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::FileTypeExt;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, UnixListener, UnixSocket};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::config::{
    Config, Endpoint, PathService, TcpEndpoint, TransportConfig, TransportKind, UnixEndpoint,
};
use crate::http::archive_download;
use crate::poller::supervisor::Pollers;
use crate::router::Router;
use crate::router::client_cert::ClientCert;
use crate::transport::admission::{self, Admission, Admitted, Speaks};
use crate::transport::http_connection;
use crate::transport::path_table::Services;
use crate::transport::rawsocket::{self, Acceptor, handshake};
use crate::transport::sniff;
use crate::transport::tls;

mod rebind;

/// Binds `endpoint`; errors name the address.
pub fn bind(endpoint: &TcpEndpoint) -> io::Result<TcpListener> {
    let ip: std::net::IpAddr = endpoint.interface.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface \"{}\" is not an IP address", endpoint.interface),
        )
    })?;
    let addr = SocketAddr::new(ip, endpoint.port);
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    socket.listen(endpoint.backlog)
}

/// The longest time a client may take to send its request head or RawSocket handshake
/// (`open_handshake_timeout`), and its TLS handshake before that.
fn handshake_timeout(kind: &TransportKind) -> Duration {
    let websocket = |service: &PathService| match service {
        PathService::WebSocket(s) => Some(s.options.open_handshake_timeout),
        PathService::WebSocketTestee(o) => Some(o.open_handshake_timeout),
        _ => None,
    };
    let timeouts: Vec<Duration> = match kind {
        TransportKind::WebSocket(s) => vec![s.options.open_handshake_timeout],
        TransportKind::Web { paths, .. } => paths.values().filter_map(websocket).collect(),
        TransportKind::RawSocket(s) => vec![s.options.open_handshake_timeout],
        TransportKind::Universal {
            rawsocket, paths, ..
        } => paths
            .values()
            .filter_map(websocket)
            .chain(rawsocket.iter().map(|s| s.options.open_handshake_timeout))
            .collect(),
    };
    timeouts
        .into_iter()
        .max()
        .unwrap_or(Duration::from_secs(10))
}

/// What a TCP transport speaks on each connection.
enum Door {
    /// HTTP/1.1 with upgrades: `websocket` and `web` transports.
    Http(Arc<Services>),
    RawSocket(Arc<Acceptor>),
    /// Either, by the first octet: 0x7F is RawSocket, anything else HTTP. A part that is not
    /// configured closes the connection.
    Universal {
        rawsocket: Option<Arc<Acceptor>>,
        http: Option<Arc<Services>>,
    },
}

impl Door {
    fn new(
        router: &Arc<Router>,
        pollers: &Arc<Pollers>,
        transport: &TransportConfig,
        tls: bool,
    ) -> io::Result<Door> {
        let http = || {
            Services::new(Arc::clone(router), pollers, &transport.kind, tls)
                .map(Arc::new)
                .map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{}: {e}", transport.path),
                    )
                })
        };
        let rawsocket = |service| Arc::new(Acceptor::new(Arc::clone(router), service));
        Ok(match &transport.kind {
            TransportKind::WebSocket(_) | TransportKind::Web { .. } => Door::Http(http()?),
            TransportKind::RawSocket(service) => Door::RawSocket(rawsocket(service)),
            TransportKind::Universal {
                rawsocket: service,
                paths,
                ..
            } => Door::Universal {
                rawsocket: service.as_ref().map(rawsocket),
                http: if paths.is_empty() {
                    None
                } else {
                    Some(http()?)
                },
            },
        })
    }

    /// What a refused connection is answered in.
    fn speaks(&self) -> Speaks {
        match self {
            Door::Http(_) => Speaks::Http,
            Door::RawSocket(_) => Speaks::RawSocket,
            Door::Universal { .. } => Speaks::Either,
        }
    }

    /// Serves one connection (after TLS, when the endpoint has it, with the client's
    /// certificate when it asked for one).
    async fn serve<S>(
        &self,
        stream: S,
        peer: SocketAddr,
        timeout: Duration,
        client_cert: Option<Arc<ClientCert>>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        match self {
            Door::Http(services) => {
                http_connection::serve(stream, Arc::clone(services), peer, timeout, client_cert)
                    .await
            }
            Door::RawSocket(acceptor) => {
                rawsocket::serve(stream, Arc::clone(acceptor), peer, client_cert).await
            }
            Door::Universal { rawsocket, http } => {
                let Some((first, stream)) = sniff::first_octet(stream, timeout).await else {
                    return debug!(%peer, "connection closed or silent before its first octet");
                };
                match (first == handshake::MAGIC, rawsocket, http) {
                    (true, Some(acceptor), _) => {
                        rawsocket::serve(stream, Arc::clone(acceptor), peer, client_cert).await
                    }
                    (false, _, Some(services)) => {
                        let services = Arc::clone(services);
                        http_connection::serve(stream, services, peer, timeout, client_cert).await
                    }
                    (true, None, _) => debug!(%peer, "RawSocket is not served here: closing"),
                    (false, _, None) => debug!(%peer, "HTTP is not served here: closing"),
                }
            }
        }
    }
}

/// Accepts connections on `listener` until the process ends; each is served by `door`, once
/// `admission` takes it (a refused one gets its answer, see [`admission::refuse`]).
async fn serve_tcp(
    listener: TcpListener,
    transport: TransportConfig,
    door: Arc<Door>,
    tls: Option<TlsAcceptor>,
    admission: Arc<Admission>,
) {
    let timeout = handshake_timeout(&transport.kind);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Typically EMFILE: back off instead of spinning.
                warn!(error = %e, "accept failed on {}", transport.path);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let ticket = match admission.admit(Some(peer.ip())) {
            Ok(ticket) => ticket,
            // Over TLS, answering would take a handshake: the connection is just closed.
            Err(refusal) if tls.is_some() => {
                admission::log_refusal(&refusal, &peer);
                continue;
            }
            Err(refusal) => {
                tokio::spawn(admission::refuse(stream, door.speaks(), refusal, peer));
                continue;
            }
        };
        let stream = Admitted::new(stream, ticket);
        let door = Arc::clone(&door);
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => door.serve(stream, peer, timeout, None).await,
                Some(acceptor) => {
                    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let client_cert = tls::client_cert(&stream);
                            door.serve(stream, peer, timeout, client_cert).await
                        }
                        Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// Binds a Unix socket. A socket file left by an earlier run is removed first; one that a
/// live process still listens on, or a file that is not a socket, is an error.
pub fn bind_unix(endpoint: &UnixEndpoint) -> io::Result<UnixListener> {
    let path = &endpoint.path;
    let fail =
        |why: String| io::Error::other(format!("cannot listen on {}: {why}", path.display()));
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(fail("another process listens on it".into()));
            }
            std::fs::remove_file(path)
                .map_err(|e| fail(format!("cannot remove the stale socket: {e}")))?;
        }
        Ok(_) => return Err(fail("a file that is not a socket is in the way".into())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e.to_string())),
    }
    let socket = UnixSocket::new_stream()?;
    socket.bind(path).map_err(|e| fail(e.to_string()))?;
    socket.listen(endpoint.backlog)
}

/// Accepts RawSocket connections on a Unix socket until the process ends (within the process's
/// connection limit: a refused one is closed).
async fn serve_unix(
    listener: UnixListener,
    transport: TransportConfig,
    acceptor: Arc<Acceptor>,
    admission: Arc<Admission>,
) {
    let peer = format!("unix peer on {}", transport.path);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let ticket = match admission.admit(None) {
                    Ok(ticket) => ticket,
                    Err(refusal) => {
                        admission::log_refusal(&refusal, &peer);
                        continue;
                    }
                };
                let stream = Admitted::new(stream, ticket);
                tokio::spawn(rawsocket::serve(
                    stream,
                    Arc::clone(&acceptor),
                    peer.clone(),
                    None,
                ));
            }
            Err(e) => {
                warn!(error = %e, "accept failed on {}", transport.path);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A transport ready to listen: everything but its socket, so binding can be retried.
pub(crate) struct Prepared {
    transport: TransportConfig,
    kind: PreparedKind,
}

enum PreparedKind {
    Tcp {
        endpoint: TcpEndpoint,
        door: Arc<Door>,
        tls: Option<TlsAcceptor>,
        admission: Arc<Admission>,
    },
    Unix {
        endpoint: UnixEndpoint,
        acceptor: Arc<Acceptor>,
        admission: Arc<Admission>,
    },
}

/// A bound socket, not yet accepting.
pub(crate) enum Socket {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Prepared {
    /// Everything a transport needs before it binds: TLS files, the path table, limits. A
    /// failure here is the config's (a missing certificate, a bad path) and stops the start.
    fn new(
        router: &Arc<Router>,
        pollers: &Arc<Pollers>,
        transport: &TransportConfig,
    ) -> io::Result<Prepared> {
        let kind = match &transport.endpoint {
            Endpoint::Tcp(endpoint) => {
                let http = !matches!(transport.kind, TransportKind::RawSocket(_));
                let tls = endpoint
                    .tls
                    .as_ref()
                    .map(|files| tls::acceptor(files, http))
                    .transpose()?;
                let door = Door::new(router, pollers, transport, tls.is_some())?;
                let admission = Admission::new(
                    endpoint.max_connections,
                    endpoint.max_connections_per_ip,
                    transport.kind.trusted_proxies().to_vec(),
                );
                PreparedKind::Tcp {
                    endpoint: endpoint.clone(),
                    door: Arc::new(door),
                    tls,
                    admission,
                }
            }
            Endpoint::Unix(endpoint) => {
                let TransportKind::RawSocket(service) = &transport.kind else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "{}: only rawsocket transports listen on Unix sockets",
                            transport.path
                        ),
                    ));
                };
                PreparedKind::Unix {
                    endpoint: endpoint.clone(),
                    acceptor: Arc::new(Acceptor::new(Arc::clone(router), service)),
                    admission: Admission::new(None, usize::MAX, Vec::new()),
                }
            }
        };
        Ok(Prepared {
            transport: transport.clone(),
            kind,
        })
    }

    /// The endpoint as readiness and the log name it: `tcp 127.0.0.1:8080 (transports[0])`.
    pub(crate) fn name(&self) -> String {
        let path = &self.transport.path;
        match &self.kind {
            PreparedKind::Tcp { endpoint, .. } => {
                format!("tcp {}:{} ({path})", endpoint.interface, endpoint.port)
            }
            PreparedKind::Unix { endpoint, .. } => {
                format!("unix {} ({path})", endpoint.path.display())
            }
        }
    }

    pub(crate) fn bind(&self) -> io::Result<Socket> {
        match &self.kind {
            PreparedKind::Tcp { endpoint, .. } => bind(endpoint).map(Socket::Tcp),
            PreparedKind::Unix { endpoint, .. } => bind_unix(endpoint).map(Socket::Unix),
        }
    }

    /// Logs where `socket` listens and what it serves, and spawns its accept loop. Returns
    /// the bound address of a TCP socket.
    pub(crate) fn serve(&self, socket: Socket) -> io::Result<Option<SocketAddr>> {
        let transport = &self.transport;
        match (&self.kind, socket) {
            (
                PreparedKind::Tcp {
                    door,
                    tls,
                    admission,
                    ..
                },
                Socket::Tcp(listener),
            ) => {
                let addr = listener.local_addr()?;
                let scheme = if tls.is_some() { " with TLS" } else { "" };
                info!("listening on {addr}{scheme} ({})", transport.path);
                log_paths(transport);
                tokio::spawn(serve_tcp(
                    listener,
                    transport.clone(),
                    Arc::clone(door),
                    tls.clone(),
                    Arc::clone(admission),
                ));
                Ok(Some(addr))
            }
            (
                PreparedKind::Unix {
                    endpoint,
                    acceptor,
                    admission,
                },
                Socket::Unix(listener),
            ) => {
                info!(
                    "listening on unix:{} ({})",
                    endpoint.path.display(),
                    transport.path
                );
                let (acceptor, admission) = (Arc::clone(acceptor), Arc::clone(admission));
                tokio::spawn(serve_unix(listener, transport.clone(), acceptor, admission));
                Ok(None)
            }
            _ => Err(io::Error::other(
                "a socket of another kind than its endpoint",
            )),
        }
    }
}

fn log_paths(transport: &TransportConfig) {
    for (path, service) in transport.kind.paths().into_iter().flatten() {
        let headline = crate::config::path_headline(path, service);
        match service {
            PathService::WebSocket(ws) => {
                let serializers: Vec<&str> = ws.serializers.iter().map(|s| s.as_str()).collect();
                info!(
                    "  serving {headline} ({serializers})",
                    serializers = serializers.join(", ")
                );
            }
            _ => info!("  serving {headline}"),
        }
    }
}

/// Binds every transport of `config`, logs where each listens, and spawns their accept loops.
/// Returns the bound TCP addresses in config order (Unix sockets are logged, not returned).
///
/// A listener whose address cannot be bound (taken by another process) is logged as an
/// ERROR, counted down for readiness and retried in the background
/// ([`rebind`]), while the others serve. When none binds there is nothing to serve: an
/// error naming every endpoint. Config-level failures (TLS files, path tables) are errors at
/// once, as before.
pub async fn start(
    config: &Config,
    router: Arc<Router>,
    pollers: Arc<Pollers>,
) -> io::Result<Vec<SocketAddr>> {
    archive_download::download_missing(config)
        .await
        .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e))?;
    let transports: Vec<_> = config.workers.iter().flat_map(|w| &w.transports).collect();
    router.expect_listeners(transports.len());
    let mut bound = Vec::new();
    let mut failed = Vec::new();
    for transport in transports {
        let prepared = Prepared::new(&router, &pollers, transport)?;
        match prepared.bind() {
            Ok(socket) => {
                bound.extend(prepared.serve(socket)?);
                router.listener_up(&prepared.name());
            }
            Err(e) => failed.push((prepared, e)),
        }
    }
    if !failed.is_empty() && failed.len() == router.listeners().1 {
        let all: Vec<String> = failed.iter().map(|(p, e)| rebind::reason(p, e)).collect();
        return Err(io::Error::other(format!(
            "no listener could bind: {}",
            all.join("; ")
        )));
    }
    for (prepared, e) in failed {
        rebind::spawn(prepared, e, Arc::clone(&router));
    }
    Ok(bound)
}
