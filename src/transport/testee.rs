//! `websocket-testee`: echoes every text and binary message back on the same WebSocket stack
//! that serves WAMP, so WebSocket conformance suites can test Junction's WebSocket layer.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

pub async fn serve<S>(mut ws: WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(Ok(msg)) = ws.next().await {
        match msg {
            Message::Text(_) | Message::Binary(_) => {
                if ws.send(msg).await.is_err() {
                    return;
                }
            }
            // Keep reading: tungstenite answers the close and then ends the stream.
            _ => {}
        }
    }
}
