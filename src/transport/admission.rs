//! Which accepted connections are served: at most `max_connections` on one endpoint, at most
//! `max_connections_per_ip` from one client address, and never more in all than the process's
//! open-file limit leaves room for (less a reserve for store files, outbound HTTP and new
//! accepts). A connection over a limit is refused at once with a clear answer (HTTP 503 with a
//! JSON body, RawSocket error 4 "maximum connection count reached") instead of holding a socket
//! that legitimate clients then lack.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use ipnet::IpNet;
use parking_lot::Mutex;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tracing::warn;

use crate::log_throttle::{Throttle, and_more};
use crate::router::traffic;
use crate::transport::rawsocket::handshake;
use crate::transport::sniff::{self, Rewind};

/// File descriptors kept free of connections: the store, poller and bridge HTTP clients, TLS
/// files, and the accept that has to happen before a refusal can be sent.
const RESERVED_FDS: usize = 256;

/// The limits of one endpoint and the connections it holds.
#[derive(Debug)]
pub struct Admission {
    /// `max_connections` (None: only the process limit).
    max_connections: Option<usize>,
    /// `max_connections_per_ip`.
    per_ip: usize,
    /// Addresses the per-address limit does not apply to: trusted proxies, which carry many
    /// clients each.
    exempt: Vec<IpNet>,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// Connections open on every endpoint of the process.
static PROCESS_OPEN: AtomicUsize = AtomicUsize::new(0);

/// Why a connection was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Endpoint(usize),
    PerIp(usize),
    Process(usize),
}

impl Refusal {
    /// What the client and the log are told.
    pub fn message(&self) -> String {
        match self {
            Refusal::Endpoint(max) => {
                format!(
                    "too many connections: this endpoint serves at most {max} (max_connections)"
                )
            }
            Refusal::PerIp(max) => format!(
                "too many connections from this address: at most {max} (max_connections_per_ip)"
            ),
            Refusal::Process(max) => format!(
                "too many connections: the process's open-file limit leaves room for {max} \
                 (raise it with `ulimit -n`)"
            ),
        }
    }
}

/// A served connection; dropping it frees its place.
#[derive(Debug)]
pub struct Ticket {
    admission: Arc<Admission>,
    ip: Option<IpAddr>,
}

/// A connection's stream holding its [`Ticket`]: the place is taken for as long as the socket
/// is open, through a WebSocket upgrade (hyper hands the stream to the upgraded connection).
pub struct Admitted<S> {
    stream: S,
    _ticket: Ticket,
}

impl<S> Admitted<S> {
    pub fn new(stream: S, ticket: Ticket) -> Admitted<S> {
        Admitted {
            stream,
            _ticket: ticket,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Admitted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Admitted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Admission {
    pub fn new(max_connections: Option<usize>, per_ip: usize, exempt: Vec<IpNet>) -> Arc<Self> {
        Arc::new(Admission {
            max_connections,
            per_ip,
            exempt,
            open: Mutex::default(),
        })
    }

    /// Takes a place for a connection from `ip` (`None` for a Unix socket peer).
    pub fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<Ticket, Refusal> {
        self.try_admit(ip).inspect_err(|refusal| {
            traffic::connection_refused(match refusal {
                Refusal::Endpoint(_) => "max_connections",
                Refusal::PerIp(_) => "max_connections_per_ip",
                Refusal::Process(_) => "open_file_limit",
            });
        })
    }

    fn try_admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<Ticket, Refusal> {
        let process_max = process_max();
        let mut open = self.open.lock();
        if let Some(max) = self.max_connections
            && open.total >= max
        {
            return Err(Refusal::Endpoint(max));
        }
        let counted_ip = ip.filter(|ip| !self.exempt.iter().any(|net| net.contains(ip)));
        if let Some(ip) = counted_ip
            && open.by_ip.get(&ip).copied().unwrap_or(0) >= self.per_ip
        {
            return Err(Refusal::PerIp(self.per_ip));
        }
        if PROCESS_OPEN.fetch_add(1, Ordering::Relaxed) >= process_max {
            PROCESS_OPEN.fetch_sub(1, Ordering::Relaxed);
            return Err(Refusal::Process(process_max));
        }
        open.total += 1;
        if let Some(ip) = counted_ip {
            *open.by_ip.entry(ip).or_default() += 1;
        }
        Ok(Ticket {
            admission: Arc::clone(self),
            ip: counted_ip,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        PROCESS_OPEN.fetch_sub(1, Ordering::Relaxed);
        let mut open = self.admission.open.lock();
        open.total -= 1;
        if let Some(ip) = self.ip
            && let Some(count) = open.by_ip.get_mut(&ip)
        {
            *count -= 1;
            if *count == 0 {
                open.by_ip.remove(&ip);
            }
        }
    }
}

/// How long a refused connection is given to take its answer.
const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// What a refused connection speaks, so that it is answered in its own protocol.
#[derive(Debug, Clone, Copy)]
pub enum Speaks {
    Http,
    RawSocket,
    /// Either, by the first octet (`universal` transports).
    Either,
}

/// Refused connections: logged at most once a second.
static REFUSED: Throttle = Throttle::new();

/// Logs a refusal (at most once a second, see [`REFUSED`]).
pub fn log_refusal(refusal: &Refusal, peer: &dyn std::fmt::Display) {
    if let Some(suppressed) = REFUSED.admit() {
        warn!(
            %peer,
            error = %refusal.message(),
            "refusing connection{}",
            and_more(suppressed)
        );
    }
}

/// Answers a refused connection and closes it: HTTP 503 with a JSON body (`{"error": message,
/// "args": [], "kwargs": {}}`, the HTTP bridge's error shape), or RawSocket's handshake error 4,
/// "maximum connection count reached". What the client sent is read and dropped for a moment
/// after the answer, so that closing does not reset the connection before the answer is read.
pub async fn refuse<S>(stream: S, speaks: Speaks, refusal: Refusal, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    log_refusal(&refusal, &peer);
    let message = refusal.message();
    let answer = |rawsocket: bool| -> Vec<u8> {
        if rawsocket {
            return vec![0x7F, 0x40, 0, 0];
        }
        let body = json!({"error": message, "args": [], "kwargs": {}}).to_string();
        format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=UTF-8\r\n\
             Content-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        let (answer, mut stream) = match speaks {
            Speaks::Http => (answer(false), Rewind::none(stream)),
            Speaks::RawSocket => (answer(true), Rewind::none(stream)),
            Speaks::Either => {
                let Some((first, stream)) = sniff::first_octet(stream, REFUSAL_TIME).await else {
                    return;
                };
                (answer(first == handshake::MAGIC), stream)
            }
        };
        if stream.write_all(&answer).await.is_ok() && stream.shutdown().await.is_ok() {
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        }
    })
    .await;
}

/// The most connections the process holds at once: its open-file limit less [`RESERVED_FDS`].
pub fn process_max() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| open_file_limit().saturating_sub(RESERVED_FDS).max(1))
}

/// The soft `RLIMIT_NOFILE`, raised to the hard limit first (as Go's runtime does): a server
/// should use what the system allows it.
fn open_file_limit() -> usize {
    let soft = rlimit::increase_nofile_limit(u64::MAX)
        .or_else(|_| rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft))
        .unwrap_or(1024);
    usize::try_from(soft).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn per_address_and_endpoint_limits_free_their_place_on_drop() {
        let admission = Admission::new(Some(3), 2, vec!["10.0.0.0/8".parse().unwrap()]);
        let a1 = admission.admit(ip("192.0.2.1")).unwrap();
        let _a2 = admission.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(
            admission.admit(ip("192.0.2.1")).unwrap_err(),
            Refusal::PerIp(2)
        );
        drop(a1);
        let _a3 = admission.admit(ip("192.0.2.1")).unwrap();
        let _proxy = admission.admit(ip("10.1.2.3")).unwrap();
        assert_eq!(
            admission.admit(ip("10.1.2.3")).unwrap_err(),
            Refusal::Endpoint(3),
            "the endpoint's limit counts everyone"
        );
        let admission = Admission::new(None, 1, vec!["10.0.0.0/8".parse().unwrap()]);
        let _p1 = admission.admit(ip("10.1.2.3")).unwrap();
        let _p2 = admission
            .admit(ip("10.1.2.3"))
            .expect("trusted proxies are exempt");
        let _unix1 = admission.admit(None).unwrap();
        let _unix2 = admission.admit(None).expect("Unix peers have no address");
    }
}
