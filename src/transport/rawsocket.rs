//! WAMP over RawSocket: the opening handshake (see [`handshake`]), then length-prefixed
//! frames (see [`codec`]) carrying one WAMP message each, pings answered with pongs. The
//! session, the writer's drain of its queue and auto-ping are shared with WebSocket (see
//! [`connection`](super::connection)).
//!
//! Either side announces the largest message it accepts. A frame longer than the router's
//! maximum fails the connection; a message longer than the client's is never sent: that
//! closes the session with a logged reason, like a slow consumer.

pub mod codec;
pub mod handshake;

use std::fmt::Display;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{Mutex, watch};
use tokio_util::codec::{FramedRead, FramedWrite};
use tracing::{debug, info};

use crate::config::RawSocketService;
use crate::router::Router;
use crate::router::auth::Authenticator;
use crate::router::client_cert::ClientCert;
use crate::router::peer::Outbound;
use crate::router::session::{Flow, Session};
use crate::transport::connection::{
    self, FrameWriter, Heartbeat, Link, deliver, next_or_shutdown, write_loop,
};
use crate::wamp::serializer::{Serialization, Subprotocol};
use codec::{Codec, Frame, FrameError, FrameType};
use handshake::{Opening, Refusal};

/// The first read buffer of a connection; it grows to the largest frame received.
const READ_BUFFER: usize = 4 * 1024;

/// Everything needed to serve RawSocket on one transport, prepared once at start.
pub struct Acceptor {
    router: Arc<Router>,
    service: RawSocketService,
    authenticator: Arc<Authenticator>,
}

impl Acceptor {
    pub fn new(router: Arc<Router>, service: &RawSocketService) -> Acceptor {
        Acceptor {
            router,
            authenticator: Arc::new(
                Authenticator::new(&service.auth)
                    .with_failed_login_limit(service.options.max_failed_logins),
            ),
            service: service.clone(),
        }
    }

    /// How long a client may take for its handshake (and the TLS one before it).
    pub fn handshake_timeout(&self) -> std::time::Duration {
        self.service.options.open_handshake_timeout
    }
}

/// Serves one connection: the handshake within `open_handshake_timeout`, then one WAMP
/// session until it ends (or the router shuts down).
pub async fn serve<S>(
    mut stream: S,
    acceptor: Arc<Acceptor>,
    peer: impl Display + Sync,
    client_cert: Option<Arc<ClientCert>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let options = &acceptor.service.options;
    let opening =
        tokio::time::timeout(options.open_handshake_timeout, handshake::read(&mut stream));
    let request = match opening.await {
        Ok(Ok(Opening::Handshake(request))) => request,
        Ok(Ok(Opening::NotRawSocket(first))) => {
            debug!(%peer, "not a RawSocket client (first octet {first:#04x}): closing");
            return;
        }
        Ok(Err(e)) => return debug!(%peer, error = %e, "RawSocket handshake failed"),
        Err(_) => return debug!(%peer, "RawSocket handshake timed out"),
    };
    let exponent = options.length_exponent();
    let accepted = match handshake::negotiate(request, &acceptor.service.serializers, exponent) {
        Ok(accepted) => accepted,
        Err(refusal) => return refuse(stream, refusal, &peer).await,
    };
    if stream.write_all(&accepted.octets).await.is_err() {
        return;
    }
    debug!(
        %peer,
        transport = "rawsocket",
        serialization = accepted.serialization.name(),
        "WAMP RawSocket open (the client takes messages up to {} bytes)",
        accepted.client_max_length
    );
    let (reader, writer) = tokio::io::split(stream);
    let frames = FramedRead::with_capacity(
        reader,
        Codec {
            max_length: options.max_message_size,
        },
        READ_BUFFER,
    );
    let sink = Arc::new(Mutex::new(FramedWrite::new(
        writer,
        Codec { max_length: 0 },
    )));
    run_session(
        &acceptor,
        accepted.serialization,
        frames,
        sink,
        accepted.client_max_length,
        &peer,
        client_cert,
    )
    .await;
    debug!(%peer, "RawSocket connection ended");
}

/// Answers with the error form of the handshake and closes.
async fn refuse<S: AsyncWrite + Unpin>(
    mut stream: S,
    refusal: Refusal,
    peer: &(dyn Display + Sync),
) {
    info!(%peer, code = refusal.code(), error = %refusal, "RawSocket handshake refused");
    if stream.write_all(&refusal.octets()).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

type Sink<S> = Arc<Mutex<FramedWrite<WriteHalf<S>, Codec>>>;

async fn run_session<S>(
    acceptor: &Acceptor,
    serialization: Serialization,
    frames: FramedRead<ReadHalf<S>, Codec>,
    sink: Sink<S>,
    client_max_length: usize,
    peer: &(dyn Display + Sync),
    client_cert: Option<Arc<ClientCert>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let router = Arc::clone(&acceptor.router);
    let options = &acceptor.service.options;
    let _open = router.connection_opened();
    let shutdown = router.shutdown_signal();
    let (outbound, mut rx) =
        Outbound::bounded(options.max_outbound_queue, options.max_outbound_bytes);
    let mut session = Session::new(
        router,
        Arc::clone(&acceptor.authenticator),
        serialization,
        Arc::clone(&outbound),
    );
    let subprotocol = Subprotocol {
        serialization,
        batched: false,
    };
    let mut transport = connection::transport_details("rawsocket", subprotocol.name(), &peer);
    transport.client_cert = client_cert;
    session.set_transport(transport);
    let link = Arc::new(Link::new(outbound, options.join_timeout));
    let reader = Reader {
        frames,
        sink: Arc::clone(&sink),
        client_max_length,
        link: Arc::clone(&link),
    };
    let mut writer = RsWriter {
        sink,
        client_max_length,
        link: Arc::clone(&link),
    };
    let heartbeat = Heartbeat::new(
        options.auto_ping_interval,
        options.auto_ping_timeout,
        options.auto_ping_size,
    );
    let reader = std::pin::pin!(reader.run(session, shutdown, peer));
    let writer = std::pin::pin!(write_loop(&mut rx, &mut writer));
    connection::run(&link, reader, writer, heartbeat.as_ref(), "RawSocket", peer).await;
}

/// Reads frames: messages go to the session, pings are answered, pongs noted.
struct Reader<S> {
    frames: FramedRead<ReadHalf<S>, Codec>,
    /// Shared with the writer, for pongs.
    sink: Sink<S>,
    client_max_length: usize,
    link: Arc<Link>,
}

impl<S> Reader<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    async fn run(
        mut self,
        mut session: Session,
        mut shutdown: watch::Receiver<bool>,
        peer: &(dyn Display + Sync),
    ) {
        loop {
            let Some(item) = next_or_shutdown(&mut self.frames, &mut shutdown).await else {
                session.shutdown().await;
                return;
            };
            let frame = match item {
                None => return,
                Some(Ok(frame)) => frame,
                Some(Err(FrameError::Io(e))) => {
                    return debug!(%peer, error = %e, "RawSocket read ended");
                }
                Some(Err(e)) => return info!(%peer, error = %e, "closing RawSocket"),
            };
            match frame.kind {
                FrameType::Message => {
                    if deliver(&mut session, &frame.payload).await == Flow::Close {
                        return;
                    }
                }
                FrameType::Ping => {
                    if let Err(reason) = self.pong(frame.payload).await {
                        return info!(%peer, error = %reason, "closing RawSocket");
                    }
                }
                FrameType::Pong => self.link.pong_received(),
            }
        }
    }

    /// Answers a ping with a pong carrying the same payload.
    async fn pong(&self, payload: Bytes) -> Result<(), String> {
        if payload.len() > self.client_max_length {
            return Err(format!(
                "a ping of {} bytes cannot be answered: the client accepts at most {} bytes",
                payload.len(),
                self.client_max_length
            ));
        }
        let pong = Frame {
            kind: FrameType::Pong,
            payload,
        };
        let mut sink = self.sink.lock().await;
        sink.send(pong).await.map_err(|e| e.to_string())
    }
}

/// Writes the session's messages as frames, none longer than the client accepts.
struct RsWriter<S> {
    sink: Sink<S>,
    client_max_length: usize,
    link: Arc<Link>,
}

impl<S> RsWriter<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    async fn feed(&mut self, kind: FrameType, payload: Bytes) -> bool {
        if payload.len() > self.client_max_length {
            self.link.outbound.closer().close(format!(
                "a message of {} bytes is longer than the client accepts ({} bytes)",
                payload.len(),
                self.client_max_length
            ));
            return false;
        }
        let frame = Frame { kind, payload };
        self.sink.lock().await.feed(frame).await.is_ok()
    }
}

impl<S> FrameWriter for RsWriter<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    async fn message(&mut self, frame: Bytes) -> bool {
        self.feed(FrameType::Message, frame).await
    }

    async fn ping(&mut self, payload: Bytes) -> bool {
        self.feed(FrameType::Ping, payload).await
    }

    async fn flush(&mut self) -> bool {
        self.sink.lock().await.flush().await.is_ok()
    }

    /// RawSocket has no close frame: write what is queued, then shut the connection down.
    async fn close(&mut self, _code: u16, _reason: String) {
        let _ = self.sink.lock().await.close().await;
    }
}
