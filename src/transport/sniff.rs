//! Telling protocols apart on one port (`universal` transports): the first octet of a
//! connection is read (after TLS, when the endpoint has it) and put back in front of the
//! stream, so the protocol chosen reads the connection from its start.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// Reads the first octet within `timeout`; `None` when the peer closes or stays silent.
pub async fn first_octet<S>(mut stream: S, timeout: Duration) -> Option<(u8, Rewind<S>)>
where
    S: AsyncRead + Unpin,
{
    let first = tokio::time::timeout(timeout, stream.read_u8())
        .await
        .ok()?
        .ok()?;
    let rewound = Rewind {
        prefix: Bytes::copy_from_slice(&[first]),
        inner: stream,
    };
    Some((first, rewound))
}

/// A stream with octets already read put back in front of it.
pub struct Rewind<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Rewind<S> {
    /// `stream` with nothing put back.
    pub fn none(stream: S) -> Rewind<S> {
        Rewind {
            prefix: Bytes::new(),
            inner: stream,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.prefix.is_empty() {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        let n = self.prefix.len().min(buf.remaining());
        buf.put_slice(&self.prefix[..n]);
        self.prefix.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn the_first_octet_is_read_again() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let (first, mut stream) = first_octet(server, Duration::from_secs(1)).await.unwrap();
        assert_eq!(first, b'G');
        let mut line = [0u8; 16];
        stream.read_exact(&mut line).await.unwrap();
        assert_eq!(&line, b"GET / HTTP/1.1\r\n");
        stream.write_all(b"ok").await.unwrap();
        let mut answer = [0u8; 2];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"ok");
    }

    #[tokio::test]
    async fn silence_and_eof_give_nothing() {
        let (_client, server) = tokio::io::duplex(64);
        assert!(
            first_octet(server, Duration::from_millis(20))
                .await
                .is_none()
        );
        let (client, server) = tokio::io::duplex(64);
        drop(client);
        assert!(first_octet(server, Duration::from_secs(1)).await.is_none());
    }
}
