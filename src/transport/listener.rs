//! TCP listeners: bind every transport's endpoint (with TLS when `endpoint.tls` is set), log
//! the bound address, accept connections and serve HTTP/1.1 (with upgrades) on each.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::config::{Config, Endpoint, PathService, TlsFiles, TransportConfig, TransportKind};
use crate::http::server::{self, Services};
use crate::poller::supervisor::Pollers;
use crate::router::Router;

/// Binds `endpoint`; errors name the address.
pub fn bind(endpoint: &Endpoint) -> io::Result<TcpListener> {
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

/// A TLS acceptor from PEM files; errors name the file.
pub fn tls_acceptor(files: &TlsFiles) -> io::Result<TlsAcceptor> {
    let invalid = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("TLS {what} {}: {e}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(&files.certificate)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid("certificate", &files.certificate, &e))?;
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|e| invalid("key", &files.key, &e))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("certificate/key pair", &files.certificate, &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The longest time a client may take to send its request head (`open_handshake_timeout`).
fn handshake_timeout(kind: &TransportKind) -> Duration {
    let options = match kind {
        TransportKind::WebSocket(s) => vec![&s.options],
        TransportKind::Web { paths, .. } => paths
            .values()
            .filter_map(|p| match p {
                PathService::WebSocket(s) => Some(&s.options),
                PathService::WebSocketTestee(o) => Some(o),
                _ => None,
            })
            .collect(),
    };
    options
        .iter()
        .map(|o| o.open_handshake_timeout)
        .max()
        .unwrap_or(Duration::from_secs(10))
}

/// Serves one accepted connection (plain or TLS) with HTTP/1.1 and upgrades.
async fn serve_connection<S>(io: S, services: Arc<Services>, peer: SocketAddr, timeout: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| server::handle(Arc::clone(&services), peer, req));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    if let Err(e) = conn.await {
        debug!(%peer, "HTTP connection ended: {e}");
    }
}

/// Serves `transport` on `listener` until the process ends.
async fn serve(
    listener: TcpListener,
    transport: TransportConfig,
    services: Arc<Services>,
    tls: Option<TlsAcceptor>,
) {
    let timeout = handshake_timeout(&transport.kind);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Typically EMFILE: back off instead of spinning.
                warn!("accept failed on {}: {e}", transport.path);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let services = Arc::clone(&services);
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, services, peer, timeout).await,
                Some(acceptor) => {
                    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, services, peer, timeout).await,
                        Ok(Err(e)) => debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// Binds every transport of `config`, logs where each listens, and spawns their accept loops.
/// Returns the bound addresses in config order.
pub async fn start(
    config: &Config,
    router: Arc<Router>,
    pollers: Arc<Pollers>,
) -> io::Result<Vec<SocketAddr>> {
    let mut bound = Vec::new();
    for transport in config.workers.iter().flat_map(|w| &w.transports) {
        let tls = transport
            .endpoint
            .tls
            .as_ref()
            .map(tls_acceptor)
            .transpose()?;
        let services = Services::new(
            Arc::clone(&router),
            &pollers,
            &transport.kind,
            tls.is_some(),
        )
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: {e}", transport.path),
            )
        })?;
        let listener = bind(&transport.endpoint)?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { " with TLS" } else { "" };
        info!("listening on {addr}{scheme} ({})", transport.path);
        bound.push(addr);
        tokio::spawn(serve(listener, transport.clone(), Arc::new(services), tls));
    }
    Ok(bound)
}
