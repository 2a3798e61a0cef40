//! The byte stream tungstenite runs over: reads come from the socket, writes (its pong and close
//! replies) go into the connection's outbox, so they stay in order with application frames and
//! one writer task owns the socket's write side.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::conn::Conn;
use crate::io::read_ahead::ReadAhead;

pub struct Transport<R> {
  read: ReadAhead<R>,
  conn: Arc<Conn>,
}

impl<R> Transport<R> {
  pub fn new(read: R, conn: Arc<Conn>) -> Self {
    Transport {
      read: ReadAhead::new(read),
      conn,
    }
  }

  /// The socket's read side, for draining it once the WebSocket is done.
  pub fn reader(&mut self) -> &mut R {
    self.read.inner()
  }
}

impl<R: AsyncRead + Unpin> AsyncRead for Transport<R> {
  fn poll_read(
    mut self: Pin<&mut Self>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
  ) -> Poll<io::Result<()>> {
    Pin::new(&mut self.read).poll_read(cx, buf)
  }
}

/// The first byte of an unfragmented pong frame (FIN + opcode 0xA).
const PONG: u8 = 0x8A;

impl<R: Unpin> AsyncWrite for Transport<R> {
  fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    // tungstenite writes one control frame per call (its write buffer is 0 bytes): the pong it
    // answers every ping with is withheld when the application answers pings itself. Its
    // replies need no bound here: the peer is not read while its queue is backed up, so it
    // cannot make the server queue more of them. A finished outbox means the connection is
    // ending; the reply is moot.
    let conn = &self.conn;
    if conn.config().auto_pong || buf.first() != Some(&PONG) {
      let _ = conn.out.push(Bytes::copy_from_slice(buf));
      conn.out.wake();
    }
    Poll::Ready(Ok(buf.len()))
  }

  fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
    Poll::Ready(Ok(()))
  }

  fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
    Poll::Ready(Ok(()))
  }
}
