//! Copying a relayed WebSocket both ways (`websocket-reverseproxy`): text, binary, ping and
//! pong messages as they come, and a close with its code and reason.
//!
//! Each direction holds one message at a time: it reads the next one only once the last was
//! written, so a side that does not read slows the other down instead of filling memory (the
//! read side's `max_message_size` bounds a message, `ws_config` the write buffer).
//! tungstenite answers pings and closes itself as well; the copies reach the other side too,
//! so a ping may get two pongs (RFC 6455 allows unsolicited pongs).
//!
//! A side that ends without a close (its connection dropped, a message over its
//! `max_message_size`) gets the other side a close (1011, or 1009 for the size), whose echo
//! then reaches the first side if it can still hear it. Once one direction has ended, the other
//! has [`CLOSE_GRACE`] to finish its closing handshake before both connections are dropped.

use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// The longest one direction may go on once the other has ended.
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Relays between `client` and `backend` until both have closed (or [`CLOSE_GRACE`] after the
/// first did).
pub async fn run<C, B>(client: WebSocketStream<C>, backend: WebSocketStream<B>)
where
    C: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (client_tx, client_rx) = client.split();
    let (backend_tx, backend_rx) = backend.split();
    let up = copy(client_rx, backend_tx, "client");
    let down = copy(backend_rx, client_tx, "backend");
    tokio::pin!(up, down);
    tokio::select! {
        () = &mut up => { let _ = tokio::time::timeout(CLOSE_GRACE, down).await; }
        () = &mut down => { let _ = tokio::time::timeout(CLOSE_GRACE, up).await; }
    }
}

/// Copies every message of `from` to `to` until `from` ends.
async fn copy<F, T>(
    mut from: SplitStream<WebSocketStream<F>>,
    mut to: SplitSink<WebSocketStream<T>, Message>,
    side: &str,
) where
    F: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    // False once `to` refused a message (it is closing or gone): keep reading `from` so that
    // tungstenite can finish its side of the closing handshake.
    let mut open = true;
    let mut closed = false;
    let end = loop {
        match from.next().await {
            Some(Ok(message)) => {
                closed |= matches!(message, Message::Close(_));
                if open && to.send(message).await.is_err() {
                    open = false;
                }
            }
            Some(Err(e)) => break Some(e),
            None => break None,
        }
    };
    if closed || !open {
        return;
    }
    let close = match end {
        None | Some(WsError::ConnectionClosed | WsError::AlreadyClosed) => return,
        Some(WsError::Capacity(CapacityError::MessageTooLong { .. })) => CloseFrame {
            code: CloseCode::Size,
            reason: Utf8Bytes::from(format!("the {side} sent a message over max_message_size")),
        },
        Some(e) => {
            tracing::debug!(error = %e, "websocket-reverseproxy: the {side} connection failed");
            CloseFrame {
                code: CloseCode::Error,
                reason: Utf8Bytes::from(format!("the {side} connection was lost")),
            }
        }
    };
    let _ = to.send(Message::Close(Some(close))).await;
}
