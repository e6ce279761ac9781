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
        // Control frames are handled by tungstenite; on Close it answers and ends the stream.
        let echo = matches!(msg, Message::Text(_) | Message::Binary(_));
        if echo && ws.send(msg).await.is_err() {
            return;
        }
    }
}
