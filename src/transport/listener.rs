//! TCP listeners: bind every transport's endpoint, log the bound address, accept connections
//! and serve HTTP/1.1 (with upgrades) on each.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket};
use tracing::{debug, info, warn};

use crate::config::{Endpoint, TransportConfig, TransportKind};
use crate::router::Router;
use crate::transport::http::{self, Services};

/// Binds `endpoint`; errors name the address.
pub fn bind(endpoint: &Endpoint) -> std::io::Result<TcpListener> {
    let ip: std::net::IpAddr = endpoint.interface.parse().map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
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
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    socket.listen(endpoint.backlog)
}

/// The longest time a client may take to send its request head (`open_handshake_timeout`).
fn handshake_timeout(kind: &TransportKind) -> Duration {
    use crate::config::PathService;
    let options = match kind {
        TransportKind::WebSocket(s) => vec![&s.options],
        TransportKind::Web { paths } => paths
            .values()
            .map(|p| match p {
                PathService::WebSocket(s) => &s.options,
                PathService::WebSocketTestee(o) => o,
            })
            .collect(),
    };
    options
        .iter()
        .map(|o| o.open_handshake_timeout)
        .max()
        .unwrap_or(Duration::from_secs(10))
}

/// Serves `transport` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, transport: TransportConfig, router: Arc<Router>) {
    let services = Arc::new(Services::new(router, &transport.kind));
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
        tokio::spawn(async move {
            let service = service_fn(move |req| http::handle(Arc::clone(&services), peer, req));
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(e) = conn.await {
                debug!(%peer, "HTTP connection ended: {e}");
            }
        });
    }
}

/// Binds every transport of `config`, logs where each listens, and spawns their accept loops.
/// Returns the bound addresses in config order.
pub async fn start(
    config: &crate::config::Config,
    router: Arc<Router>,
) -> std::io::Result<Vec<SocketAddr>> {
    let mut bound = Vec::new();
    for transport in config.workers.iter().flat_map(|w| &w.transports) {
        let listener = bind(&transport.endpoint)?;
        let addr = listener.local_addr()?;
        info!("listening on {addr} ({})", transport.path);
        bound.push(addr);
        tokio::spawn(serve(listener, transport.clone(), Arc::clone(&router)));
    }
    Ok(bound)
}
