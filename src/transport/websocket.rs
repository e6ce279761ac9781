//! WAMP over one WebSocket connection: a reader that decodes frames and drives the session, a
//! writer that drains the session's outbound queue (many frames per flush), auto-ping, and the
//! close paths (peer close, oversized message, slow consumer, dead peer).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tracing::{debug, info, warn};

use crate::config::WebSocketOptions;
use crate::router::Router;
use crate::router::auth::Authenticator;
use crate::router::peer::{Outbound, Outgoing};
use crate::router::session::{Flow, Session};
use crate::wamp::serializer::{JSON_SEPARATOR, Subprotocol, json_separator_of};
use crate::wamp::value::{Dict, Value};

/// Most frames written before one flush; bounds the latency a long queue adds.
const MAX_FRAMES_PER_FLUSH: usize = 256;

/// tungstenite settings from the path's options. A small read buffer keeps idle connections
/// cheap (the default 128 KiB costs that much per connection).
pub fn ws_config(options: &WebSocketOptions) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .max_message_size(Some(options.max_message_size))
        .max_frame_size(Some(options.max_frame_size))
}

/// `transport` of the session meta API: the kind, the WAMP subprotocol and the client's
/// address in Crossbar's `tcp4:1.2.3.4:5678` form.
pub fn transport_details(kind: &str, protocol: &str, peer: std::net::SocketAddr) -> Dict {
    let family = if peer.is_ipv4() { "tcp4" } else { "tcp6" };
    let mut details = Dict::new();
    details.insert("type".into(), Value::from(kind));
    details.insert("protocol".into(), Value::from(protocol));
    details.insert(
        "peer".into(),
        Value::from(format!("{family}:{}:{}", peer.ip(), peer.port())),
    );
    details
}

/// What the reader, the writer and the pinger of one connection share.
struct Link {
    subprotocol: Subprotocol,
    outbound: Arc<Outbound>,
    started: Instant,
    /// Milliseconds since `started` when the last pong arrived.
    last_pong: AtomicU64,
    /// Batched JSON: answer with the separator the client uses (see wamp::serializer).
    separator: AtomicU8,
}

/// Runs one WAMP session over `ws` until it ends (or the router shuts down).
pub async fn serve<S>(
    ws: WebSocketStream<S>,
    subprotocol: Subprotocol,
    router: Arc<Router>,
    authenticator: Arc<Authenticator>,
    options: WebSocketOptions,
    peer_addr: std::net::SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _open = router.connection_opened();
    let shutdown = router.shutdown_signal();
    let (sink, stream) = ws.split();
    let (outbound, rx) = Outbound::new(options.max_outbound_queue);
    let mut session = Session::new(
        router,
        authenticator,
        subprotocol.serialization,
        Arc::clone(&outbound),
    );
    session.set_transport(transport_details(
        "websocket",
        subprotocol.name(),
        peer_addr,
    ));
    let link = Arc::new(Link {
        subprotocol,
        outbound,
        started: Instant::now(),
        last_pong: AtomicU64::new(0),
        separator: AtomicU8::new(JSON_SEPARATOR),
    });

    let reader = read_loop(stream, session, Arc::clone(&link), shutdown);
    let writer = write_loop(sink, rx, Arc::clone(&link));
    let pinger = ping_loop(&link, &options);
    tokio::pin!(reader, writer, pinger);

    tokio::select! {
        () = &mut reader => {
            // Let the writer send what the session queued last (ABORT, GOODBYE, close frame),
            // then end. After a peer's close the writer's close fails at once, which ends it.
            link.outbound.push(Outgoing::Close { code: 1000, reason: String::new() });
            let _ = tokio::time::timeout(Duration::from_secs(2), &mut writer).await;
        }
        () = &mut writer => {}
        () = &mut pinger => {}
        reason = link.outbound.closer().closed() => {
            warn!(%peer_addr, "closing WebSocket: {reason}");
        }
    }
    debug!(%peer_addr, "WebSocket connection ended");
}

async fn read_loop<S>(
    mut stream: SplitStream<WebSocketStream<S>>,
    mut session: Session,
    link: Arc<Link>,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let subprotocol = link.subprotocol;
    loop {
        // `None` means the router is shutting down (the watch guard must not live across the
        // await below, so the select only says which branch won).
        let frame = tokio::select! {
            frame = stream.next() => Some(frame),
            _ = shutdown.wait_for(|stopping| *stopping) => None,
        };
        let Some(frame) = frame else {
            session.shutdown().await;
            return;
        };
        let Some(frame) = frame else { break };
        let data: Bytes = match frame {
            Ok(WsMessage::Text(text)) => text.into(),
            Ok(WsMessage::Binary(data)) => data,
            Ok(WsMessage::Pong(_)) => {
                let now = link.started.elapsed().as_millis() as u64;
                link.last_pong.store(now, Ordering::Relaxed);
                continue;
            }
            // On Close, keep reading: tungstenite answers it and then ends the stream.
            Ok(WsMessage::Ping(_) | WsMessage::Frame(_) | WsMessage::Close(_)) => continue,
            Err(WsError::Capacity(e)) => {
                let reason = match e {
                    CapacityError::MessageTooLong { size, max_size } => {
                        format!("message too big: {size} bytes, max_message_size is {max_size}")
                    }
                    other => other.to_string(),
                };
                info!("closing WebSocket: {reason}");
                link.outbound
                    .send(Outgoing::Close { code: 1009, reason })
                    .await;
                break;
            }
            Err(e) => {
                debug!("WebSocket read ended: {e}");
                break;
            }
        };
        if subprotocol.batched
            && subprotocol.serialization.is_text()
            && let Some(sep) = json_separator_of(&data)
        {
            link.separator.store(sep, Ordering::Relaxed);
        }
        let messages = match subprotocol.split(&data) {
            Ok(messages) => messages,
            Err(e) => {
                session.protocol_violation(&e.0).await;
                break;
            }
        };
        for bytes in messages {
            let flow = match subprotocol.serialization.decode(bytes) {
                Ok(msg) => session.handle(msg).await,
                Err(e) => session.protocol_violation(&e.0).await,
            };
            if flow == Flow::Close {
                return;
            }
        }
    }
}

async fn write_loop<S>(
    mut sink: SplitSink<WebSocketStream<S>, WsMessage>,
    mut rx: mpsc::Receiver<Outgoing>,
    link: Arc<Link>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let subprotocol = link.subprotocol;
    let mut batch = BytesMut::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let mut written = 0;
        while let Some(item) = next.take() {
            match item {
                Outgoing::Message(frame) if subprotocol.batched => {
                    subprotocol.append(&mut batch, &frame, link.separator.load(Ordering::Relaxed))
                }
                Outgoing::Message(frame) => {
                    if sink.feed(ws_message(subprotocol, frame)).await.is_err() {
                        return;
                    }
                }
                Outgoing::Ping(payload) => {
                    if sink.feed(WsMessage::Ping(payload)).await.is_err() {
                        return;
                    }
                }
                Outgoing::Close { code, reason } => {
                    if !batch.is_empty() {
                        let _ = sink
                            .feed(ws_message(subprotocol, batch.split().freeze()))
                            .await;
                    }
                    let frame = CloseFrame {
                        code: CloseCode::from(code),
                        reason: Utf8Bytes::from(truncate(&reason)),
                    };
                    let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    return;
                }
            }
            written += 1;
            if written < MAX_FRAMES_PER_FLUSH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty()
            && sink
                .feed(ws_message(subprotocol, batch.split().freeze()))
                .await
                .is_err()
        {
            return;
        }
        if sink.flush().await.is_err() {
            return;
        }
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

/// Sends a ping every `auto_ping_interval` and closes the connection when no pong arrives
/// within `auto_ping_timeout`, so a dead peer's registrations are freed. Never completes (a
/// close is reported through the closer).
async fn ping_loop(link: &Link, options: &WebSocketOptions) {
    let Some(interval) = options.auto_ping_interval else {
        return std::future::pending().await;
    };
    let timeout = options.auto_ping_timeout.unwrap_or(interval);
    let payload = Bytes::from(vec![0x4a; options.auto_ping_size.clamp(4, 125)]);
    loop {
        tokio::time::sleep(interval).await;
        let sent = link.started.elapsed().as_millis() as u64;
        link.outbound.push(Outgoing::Ping(payload.clone()));
        tokio::time::sleep(timeout).await;
        if link.last_pong.load(Ordering::Relaxed) < sent {
            link.outbound.closer().close(format!(
                "auto-ping: no pong within {} ms",
                timeout.as_millis()
            ));
            // Stay pending so the closer's branch in `serve` ends the connection and logs why.
            return std::future::pending().await;
        }
    }
}
