//! WAMP over one WebSocket connection: a reader that decodes frames (text, binary, batched) and
//! drives the session, a writer that turns the session's queue into WebSocket frames, and the
//! WebSocket close paths (peer close, oversized message). What every connection shares (the
//! writer's drain, auto-ping, ending together) is in [`connection`].
//!
//! Before that: the opening handshake ([`handshake`]) and the upgrade of an HTTP request
//! ([`upgrade`]); [`testee`] echoes messages for WebSocket conformance suites; [`proxy`] and
//! [`relay`] serve `websocket-reverseproxy` paths.

pub mod handshake;
pub mod proxy;
pub mod relay;
pub mod testee;
pub mod upgrade;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use bytes::{Bytes, BytesMut};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tracing::{debug, info};

use crate::config::WebSocketOptions;
use crate::router::Router;
use crate::router::auth::Authenticator;
use crate::router::client_cert::ClientCert;
use crate::router::peer::{Outbound, Outgoing};
use crate::router::session::{Flow, Session};
use crate::transport::connection::{
    self, FrameWriter, Heartbeat, Link, deliver, next_or_shutdown, write_loop,
};
use crate::wamp::serializer::{JSON_SEPARATOR, Subprotocol, json_separator_of};

/// The read buffer of a connection: what every idle connection costs (tungstenite zero-fills
/// it before each read), so it is small (BENCHMARKS.md: 8 KiB made idle sessions cost 16.8 KiB
/// each). It bounds one read, not a message: tungstenite grows the buffer for a frame that
/// does not fit, reading it in 1 KiB steps (a 1 MiB message takes ~1,000 reads, about 1 ms).
const READ_BUFFER: usize = 1024;

/// tungstenite's write buffer: frames gather here and go to the socket once it holds this much
/// (or at a flush). Its default; the buffer is empty while a connection is idle.
const WRITE_BUFFER: usize = 128 * 1024;

/// tungstenite settings from the path's options (the default 128 KiB read buffer would cost
/// that much per connection).
///
/// The write buffer is bounded (tungstenite's default is unbounded): the writer puts at most
/// one frame (a message, or a batch of the outbound queue) past `WRITE_BUFFER` before waiting
/// for the socket, but tungstenite answers every ping it reads with a pong in the same buffer,
/// so a client that floods pings and never reads would grow it without end (issue 12). Full,
/// it keeps one pong and drops the rest, as RFC 6455 allows.
pub fn ws_config(options: &WebSocketOptions) -> WebSocketConfig {
    let one_frame = options.max_outbound_bytes.max(options.max_message_size);
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER.saturating_add(one_frame))
        .max_message_size(Some(options.max_message_size))
        .max_frame_size(Some(options.max_frame_size))
}

/// How a WebSocket was opened: the client's address and what its HTTP upgrade carried.
pub struct Opened {
    pub peer: std::net::SocketAddr,
    /// Its tracking cookie, on a cookie-tracked path.
    pub cookie: Option<crate::router::auth::cookie::TrackedCookie>,
    /// The upgrade request's headers, for a dynamic authenticator.
    pub http: Option<Box<crate::router::session_table::HttpDetails>>,
    /// The certificate the client presented in the TLS handshake.
    pub client_cert: Option<Arc<ClientCert>>,
}

/// Runs one WAMP session over `ws` until it ends (or the router shuts down).
///
/// Not an `async fn`: every connection's task pays for the size of this future (idle memory
/// per session is a target, see BENCHMARKS.md), and an async fn keeps a slot for each argument
/// beside the local it is moved into. Here the parts are built first and the future owns each
/// once: the reader and writer state, borrowed by the loops that drive them.
pub fn serve<S>(
    ws: WebSocketStream<S>,
    subprotocol: Subprotocol,
    router: Arc<Router>,
    authenticator: Arc<Authenticator>,
    options: WebSocketOptions,
    opened: Opened,
) -> impl Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = ws.split();
    let open = router.connection_opened();
    let shutdown = router.shutdown_signal();
    let (outbound, mut rx) =
        Outbound::bounded(options.max_outbound_queue, options.max_outbound_bytes);
    let mut session = Session::new(
        router,
        authenticator,
        subprotocol.serialization,
        Arc::clone(&outbound),
    );
    let peer_addr = opened.peer;
    let mut transport = connection::transport_details("websocket", subprotocol.name(), &peer_addr);
    transport.cookie = opened.cookie;
    transport.http = opened.http;
    transport.client_cert = opened.client_cert;
    session.set_transport(transport);
    let link = Arc::new(Link::new(outbound, options.join_timeout));
    // Batched JSON: answer with the separator the client uses (see wamp::serializer).
    let separator = Arc::new(AtomicU8::new(JSON_SEPARATOR));
    let mut reader = Reader {
        stream,
        session,
        subprotocol,
        link: Arc::clone(&link),
        separator: Arc::clone(&separator),
        shutdown,
    };
    let mut writer = WsWriter {
        sink,
        subprotocol,
        batch: BytesMut::new(),
        separator,
    };
    let heartbeat = Heartbeat::new(
        options.auto_ping_interval,
        options.auto_ping_timeout,
        options.auto_ping_size.clamp(4, 125),
    );
    async move {
        let reading = std::pin::pin!(reader.run());
        let writing = std::pin::pin!(write_loop(&mut rx, &mut writer));
        let peer: &(dyn std::fmt::Display + Sync) = &peer_addr;
        connection::run(
            &link,
            reading,
            writing,
            heartbeat.as_ref(),
            "WebSocket",
            peer,
        )
        .await;
        debug!(peer = %peer_addr, "WebSocket connection ended");
        // Named here so the future holds the guard: the connection counts as open until now.
        drop(open);
    }
}

/// The reading side of one connection: frames in, messages to the session.
struct Reader<S> {
    stream: SplitStream<WebSocketStream<S>>,
    session: Session,
    subprotocol: Subprotocol,
    link: Arc<Link>,
    separator: Arc<AtomicU8>,
    shutdown: watch::Receiver<bool>,
}

impl<S> Reader<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Reads until the peer or the session ends the connection, then leaves the realm at once
    /// (the session itself lives as long as the connection's future, which may still give the
    /// writer a moment to send what was queued last).
    async fn run(&mut self) {
        let subprotocol = self.subprotocol;
        'read: loop {
            let Some(frame) = next_or_shutdown(&mut self.stream, &mut self.shutdown).await else {
                // Boxed: once per session, and inline it would size every idle task.
                Box::pin(self.session.shutdown()).await;
                break;
            };
            let Some(frame) = frame else { break };
            let data: Bytes = match frame {
                Ok(WsMessage::Text(text)) => text.into(),
                Ok(WsMessage::Binary(data)) => data,
                Ok(WsMessage::Pong(_)) => {
                    self.link.pong_received();
                    continue;
                }
                // On Close, keep reading: tungstenite answers it and then ends the stream.
                Ok(WsMessage::Ping(_) | WsMessage::Frame(_) | WsMessage::Close(_)) => continue,
                Err(WsError::Capacity(e)) => {
                    Box::pin(self.too_big(e)).await;
                    break;
                }
                // RFC 6455 section 7.4.1: 1007 for data that does not match its type, 1002 for
                // a protocol error.
                Err(WsError::Utf8(_)) => {
                    Box::pin(self.fail(1007, "invalid UTF-8 in a text frame".to_owned())).await;
                    break;
                }
                Err(WsError::Protocol(e)) => {
                    Box::pin(self.fail(1002, format!("WebSocket protocol error: {e}"))).await;
                    break;
                }
                Err(e) => {
                    debug!(error = %e, "WebSocket read ended");
                    break;
                }
            };
            if subprotocol.batched
                && subprotocol.serialization.is_text()
                && let Some(sep) = json_separator_of(&data)
            {
                self.separator.store(sep, Ordering::Relaxed);
            }
            let messages = match subprotocol.split(&data) {
                Ok(messages) => messages,
                Err(e) => {
                    self.session.protocol_violation(&e.0).await;
                    break;
                }
            };
            for bytes in messages {
                let flow = deliver(&mut self.session, bytes).await;
                if flow == Flow::Close {
                    break 'read;
                }
            }
        }
        self.session.detach();
    }

    /// A message over `max_message_size` (or a frame over `max_frame_size`): close 1009.
    async fn too_big(&self, e: CapacityError) {
        let reason = match e {
            CapacityError::MessageTooLong { size, max_size } => {
                format!("message too big: {size} bytes, max_message_size is {max_size}")
            }
            other => other.to_string(),
        };
        self.fail(1009, reason).await;
    }

    /// Closes the connection with `code` and `reason` (logged) after what is queued.
    async fn fail(&self, code: u16, reason: String) {
        info!(code, error = %reason, "closing WebSocket");
        self.link
            .outbound
            .send(Outgoing::Close { code, reason })
            .await;
    }
}

/// Writes WAMP messages as WebSocket frames; batched subprotocols pack everything written
/// before one flush into a single frame.
struct WsWriter<S> {
    sink: SplitSink<WebSocketStream<S>, WsMessage>,
    subprotocol: Subprotocol,
    batch: BytesMut,
    separator: Arc<AtomicU8>,
}

impl<S> WsWriter<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// Feeds the pending batch, if any, as one frame.
    async fn feed_batch(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let frame = ws_message(self.subprotocol, self.batch.split().freeze());
        self.sink.feed(frame).await.is_ok()
    }
}

impl<S> FrameWriter for WsWriter<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    async fn message(&mut self, frame: Bytes) -> bool {
        if self.subprotocol.batched {
            let separator = self.separator.load(Ordering::Relaxed);
            self.subprotocol.append(&mut self.batch, &frame, separator);
            return true;
        }
        let frame = ws_message(self.subprotocol, frame);
        self.sink.feed(frame).await.is_ok()
    }

    async fn ping(&mut self, payload: Bytes) -> bool {
        self.sink.feed(WsMessage::Ping(payload)).await.is_ok()
    }

    async fn flush(&mut self) -> bool {
        self.feed_batch().await && self.sink.flush().await.is_ok()
    }

    async fn close(&mut self, code: u16, reason: String) {
        self.feed_batch().await;
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from(truncate(&reason)),
        };
        let _ = self.sink.send(WsMessage::Close(Some(frame))).await;
    }
}

/// A close reason must fit a control frame (123 bytes); cut on a character boundary.
fn truncate(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

fn ws_message(subprotocol: Subprotocol, frame: Bytes) -> WsMessage {
    if subprotocol.serialization.is_text() {
        match Utf8Bytes::try_from(frame.clone()) {
            Ok(text) => WsMessage::Text(text),
            // JSON produced by serde_json is always UTF-8; never reached.
            Err(_) => WsMessage::Binary(frame),
        }
    } else {
        WsMessage::Binary(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::upgrade::Upgraded;
    use hyper_util::rt::TokioIo;

    /// The size of what `f` returns, without calling it.
    fn returned_size<A, B, C, D, E, F, R>(_: impl Fn(A, B, C, D, E, F) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// Every connection's task holds this future for the session's life, so its size is part
    /// of each idle session's memory (BENCHMARKS.md, "Idle memory"). 1,976 bytes when this
    /// was written; a rare path awaited inline (rather than boxed) or a large argument kept
    /// twice by an async fn shows up here first.
    #[test]
    fn connection_future_stays_small() {
        let size = returned_size(serve::<TokioIo<Upgraded>>);
        assert!(
            size <= 2_560,
            "the WebSocket connection future is {size} bytes"
        );
    }
}
