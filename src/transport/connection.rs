//! What every WAMP connection does, whatever its framing (WebSocket, RawSocket): the three
//! tasks of one connection (a reader that drives the session, a writer that drains the
//! session's outbound queue with many frames per flush, a pinger that drops a dead peer) and
//! how they end together (peer gone, session closed, slow consumer, router shutdown).

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{FutureExt, Stream, StreamExt};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::log_throttle::{Throttle, and_more};

use crate::router::peer::{Inbox, Outbound, Outgoing};
use crate::router::session::{Flow, Session};
use crate::router::session_table::TransportInfo;

/// Most frames written before one flush; bounds the latency a long queue adds.
pub const MAX_FRAMES_PER_FLUSH: usize = 256;

/// How long the writer may take to send what the session queued last, once the reader ended.
const LAST_WORDS: Duration = Duration::from_secs(2);

/// `transport` in the session meta API (`wamp.session.get`, `on_join`): the kind, the WAMP
/// subprotocol and the client's address (Crossbar's `tcp4:1.2.3.4:5678` for TCP peers).
pub fn transport_details(
    kind: &'static str,
    protocol: &'static str,
    peer: &dyn Display,
) -> TransportInfo {
    let peer = peer.to_string();
    let addr = peer.parse::<std::net::SocketAddr>().ok();
    let peer = match addr {
        Some(addr) if addr.is_ipv4() => format!("tcp4:{}:{}", addr.ip(), addr.port()),
        Some(addr) => format!("tcp6:{}:{}", addr.ip(), addr.port()),
        None => peer,
    };
    TransportInfo {
        kind,
        protocol,
        peer,
        ip: addr.map(|addr| addr.ip()),
        cookie: None,
        http: None,
        client_cert: None,
    }
}

/// What the reader, the writer and the pinger of one connection share.
pub struct Link {
    pub outbound: Arc<Outbound>,
    /// `join_timeout`: the longest the connection may stay open without joining a realm.
    join_timeout: Duration,
    started: Instant,
    /// Milliseconds since `started` when the last pong arrived.
    last_pong: AtomicU64,
}

impl Link {
    pub fn new(outbound: Arc<Outbound>, join_timeout: Duration) -> Link {
        Link {
            outbound,
            join_timeout,
            started: Instant::now(),
            last_pong: AtomicU64::new(0),
        }
    }

    /// The peer answered a ping (any pong counts).
    pub fn pong_received(&self) {
        self.last_pong.store(self.elapsed_ms(), Ordering::Relaxed);
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Auto-ping: a ping every `interval`; no pong within `timeout` closes the connection.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    pub interval: Duration,
    pub timeout: Duration,
    pub payload: Bytes,
}

impl Heartbeat {
    /// From the `auto_ping_*` options; `None` when pings are off. The timeout defaults to the
    /// interval.
    pub fn new(
        interval: Option<Duration>,
        timeout: Option<Duration>,
        size: usize,
    ) -> Option<Heartbeat> {
        let interval = interval?;
        Some(Heartbeat {
            interval,
            timeout: timeout.unwrap_or(interval),
            payload: Bytes::from(vec![0x4a; size]),
        })
    }
}

/// A framing's way of writing what a session queued. `message` and `ping` may buffer; `flush`
/// writes out. `false` means the connection is gone (or must go) and the writer stops.
pub trait FrameWriter: Send {
    fn message(&mut self, frame: Bytes) -> impl Future<Output = bool> + Send;
    fn ping(&mut self, payload: Bytes) -> impl Future<Output = bool> + Send;
    fn flush(&mut self) -> impl Future<Output = bool> + Send;
    /// Writes what is buffered, then closes the connection (`code` and `reason` as given to
    /// [`Outgoing::Close`]).
    fn close(&mut self, code: u16, reason: String) -> impl Future<Output = ()> + Send;
}

/// Drains the session's queue into `writer` until a `Close` is written, a write fails or the
/// queue is closed: everything queued at once goes out with one flush.
///
/// Both are borrowed: the connection's future owns them once (an async fn's arguments take
/// room twice in its future, see `websocket::serve`).
pub async fn write_loop(rx: &mut Inbox, writer: &mut impl FrameWriter) {
    while let Some(first) = rx.recv().await {
        // Once woken, let the tasks already scheduled run first: a publication being routed
        // to many sessions, or a burst of replies, then goes out in fewer, fuller writes
        // (fan-out to 1,000: ~7 -> ~10 frames per `sendto`, +18% deliveries/s; one call's
        // round trip +2 us; BENCHMARKS.md).
        tokio::task::yield_now().await;
        let mut next = Some(first);
        let mut written = 0;
        while let Some(item) = next.take() {
            let ok = match item {
                Outgoing::Message(frame) => writer.message(frame).await,
                Outgoing::Ping(payload) => writer.ping(payload).await,
                Outgoing::Close { code, reason } => {
                    writer.close(code, reason).await;
                    return;
                }
            };
            if !ok {
                return;
            }
            written += 1;
            if written < MAX_FRAMES_PER_FLUSH {
                next = rx.try_recv();
            }
        }
        if !writer.flush().await {
            return;
        }
    }
}

/// The next item of `stream`, or `None` once the router starts shutting down.
pub async fn next_or_shutdown<S>(
    stream: &mut S,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Option<S::Item>>
where
    S: Stream + Unpin,
{
    tokio::select! {
        item = stream.next() => Some(item),
        // The watch guard is dropped here, before the caller awaits anything.
        _ = shutdown.wait_for(|stopping| *stopping) => None,
    }
}

/// Decodes one message and hands it to the session; one that does not decode aborts it.
pub fn deliver<'a>(session: &'a mut Session, bytes: &[u8]) -> impl Future<Output = Flow> + 'a {
    session.receive(bytes)
}

/// Runs the reader, the writer and the pinger of one connection until the first ends or the
/// session is closed from elsewhere (slow consumer, dead peer, a frame the peer cannot take):
/// that reason is logged as `closing {what}: {reason}`. When the reader ends first, the writer
/// gets a moment to send what the session queued last (ABORT, GOODBYE).
///
/// The reader and writer come pinned by the caller: moved in by value, they would be stored
/// twice in this future (as arguments, then pinned), and every connection's task pays for its
/// size (idle memory per session is a target, see BENCHMARKS.md).
pub async fn run<R, W>(
    link: &Link,
    mut reader: Pin<&mut R>,
    mut writer: Pin<&mut W>,
    heartbeat: Option<&Heartbeat>,
    what: &str,
    peer: &(dyn Display + Sync),
) where
    R: Future<Output = ()>,
    W: Future<Output = ()>,
{
    let pinger = ping_loop(link, heartbeat);
    let deadline = join_deadline(link, what, peer);
    let closer = link.outbound.closer();
    tokio::pin!(pinger);
    tokio::pin!(deadline);
    tokio::select! {
        reason = closer.closed() => {
            warn!(%peer, error = %reason, "closing {what}");
        }
        () = reader.as_mut() => {
            link.outbound.push(Outgoing::Close { code: 1000, reason: String::new() });
            let _ = tokio::time::timeout(LAST_WORDS, writer.as_mut()).await;
        }
        () = writer.as_mut() => {
            // A writer stops on its own when it closed the session (a frame the peer cannot
            // take); say why.
            if let Some(reason) = closer.closed().now_or_never() {
                warn!(%peer, error = %reason, "closing {what}");
            }
        }
        () = &mut pinger => {}
        () = &mut deadline => {}
    }
}

/// Connections closed for not joining a realm in time: logged at most once a second.
static NOT_JOINED: Throttle = Throttle::new();

/// Closes the connection (WebSocket code 1008, policy violation) when its session has not
/// joined a realm within `join_timeout`: a client that connects and never says HELLO, or never
/// answers its CHALLENGE, holds no socket for longer. Never completes.
async fn join_deadline(link: &Link, what: &str, peer: &(dyn Display + Sync)) {
    {
        // Boxed: a timer inline would size every connection's task for its whole life.
        Box::pin(tokio::time::sleep(link.join_timeout)).await;
    }
    if !link.outbound.joined() {
        let reason = format!(
            "no realm joined within join_timeout ({} ms)",
            link.join_timeout.as_millis()
        );
        if let Some(suppressed) = NOT_JOINED.admit() {
            info!(%peer, error = %reason, "closing {what}{}", and_more(suppressed));
        }
        link.outbound.push(Outgoing::Close { code: 1008, reason });
    }
    std::future::pending().await
}

/// Sends a ping every interval and closes the connection when no pong arrives in time, so a
/// dead peer's registrations are freed. Never completes (a close goes through the closer).
async fn ping_loop(link: &Link, heartbeat: Option<&Heartbeat>) {
    let Some(heartbeat) = heartbeat else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(heartbeat.interval).await;
        let sent = link.elapsed_ms();
        link.outbound
            .push(Outgoing::Ping(heartbeat.payload.clone()));
        tokio::time::sleep(heartbeat.timeout).await;
        if link.last_pong.load(Ordering::Relaxed) < sent {
            link.outbound.closer().close(format!(
                "auto-ping: no pong within {} ms",
                heartbeat.timeout.as_millis()
            ));
            return std::future::pending().await;
        }
    }
}
