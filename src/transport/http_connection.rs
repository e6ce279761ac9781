//! One HTTP/1.1 connection: hyper with upgrades (WebSocket), request headers within the
//! transport's handshake timeout, and the keep-alive idle timeout (`client_timeout`) that
//! hyper lacks: a connection with no request in flight for that long is closed gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

use crate::router::client_cert::ClientCert;
use crate::transport::path_table::{self, Services};

/// Serves one accepted connection (plain or TLS) with HTTP/1.1 and upgrades. Headers must
/// arrive within `timeout`; a keep-alive connection idle for `client_timeout` between requests
/// is closed (hyper has no idle timeout of its own). The client's TLS certificate, if any,
/// rides along in each request's extensions (for the WebSocket sessions it opens).
pub async fn serve<S>(
    io: S,
    services: Arc<Services>,
    peer: SocketAddr,
    timeout: Duration,
    client_cert: Option<Arc<ClientCert>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let idle_limit = services.client_timeout;
    let activity = Arc::new(Activity::default());
    let service = service_fn({
        let activity = Arc::clone(&activity);
        move |mut req: hyper::Request<hyper::body::Incoming>| {
            if let Some(cert) = &client_cert {
                req.extensions_mut().insert(Arc::clone(cert));
            }
            let request = activity.begin();
            let answer = path_table::handle(Arc::clone(&services), peer, req);
            async move {
                let response = answer.await;
                drop(request);
                response
            }
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    debug!(%peer, error = %e, "HTTP connection ended");
                }
                return;
            }
            () = activity.idle_for(idle_limit), if !closing => {
                debug!(%peer, "closing HTTP connection idle for {} s (client_timeout)",
                    idle_limit.as_secs());
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Requests in flight on one HTTP connection (or one long-poll transport) and when the last
/// one ended.
#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicUsize,
    last_done: parking_lot::Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            in_flight: AtomicUsize::new(0),
            last_done: parking_lot::Mutex::new(Instant::now()),
        }
    }
}

/// A request in flight; dropping it marks the connection idle from then.
pub struct InFlight(Arc<Activity>);

impl Activity {
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    /// Returns once no request has been in flight for `limit`.
    pub async fn idle_for(&self, limit: Duration) {
        loop {
            let wake = if self.in_flight.load(Ordering::Relaxed) == 0 {
                let due = *self.last_done.lock() + limit;
                if Instant::now() >= due {
                    return;
                }
                due
            } else {
                Instant::now() + limit
            };
            tokio::time::sleep_until(wake.into()).await;
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.0.last_done.lock() = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
