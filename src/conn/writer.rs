//! The writer task: owns the socket's write side and writes whatever the outbox holds in
//! vectored bursts (many frames per syscall), then shuts the write side down.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::conn::outbox::{consume, gather, MAX_SLICES};
use crate::conn::{Conn, Request};
use crate::io::direct::Fd;

/// A connection's write side. With the socket's descriptor, other threads may also write to
/// it between the writer task's bursts (`Outbox::write_now`), until this is dropped: dropping
/// detaches the descriptor before the socket can close, whether the task ran, ended or was
/// aborted.
pub struct WriteSide<W> {
  conn: Arc<Conn>,
  io: W,
}

impl<W> WriteSide<W> {
  pub fn new(conn: Arc<Conn>, io: W, fd: Option<Fd>) -> Self {
    if let Some(fd) = fd {
      conn.out.attach_fd(fd);
    }
    WriteSide { conn, io }
  }
}

impl<W> Drop for WriteSide<W> {
  fn drop(&mut self) {
    self.conn.out.detach_fd();
  }
}

/// Writes every frame of `frames` to `io`, advancing past what was written.
async fn write_all<W: AsyncWrite + Unpin>(
  io: &mut W,
  frames: &mut VecDeque<Bytes>,
  conn: &Conn,
) -> std::io::Result<()> {
  while !frames.is_empty() {
    // The slices are built inside each poll, on the stack: kept across the await they would
    // add a kilobyte to every connection's task, idle or not.
    let mut waited = false;
    let written = poll_fn(|cx| {
      let mut slices = [IoSlice::new(&[]); MAX_SLICES];
      let count = gather(frames, &mut slices);
      let poll = Pin::new(&mut *io).poll_write_vectored(cx, &slices[..count]);
      waited |= poll.is_pending();
      poll
    })
    .await?;
    if written == 0 {
      return Err(std::io::ErrorKind::WriteZero.into());
    }
    if waited {
      // The socket had no room and now took bytes: the peer read what was sent, so it is alive
      // even while its pong waits behind a long download.
      conn.heard();
    }
    let before = frames.len();
    // The writer's own frames are never cleared, so a partly written one needs no record.
    let _ = consume(frames, written);
    let remaining = conn.out.written(written, before - frames.len());
    conn.after_write(remaining);
  }
  Ok(())
}

/// Runs until the outbox is finished and written, or the socket fails.
#[allow(
  clippy::manual_async_fn,
  reason = "an async fn keeps its arguments twice"
)]
pub fn run<W: AsyncWrite + Unpin>(mut side: WriteSide<W>) -> impl Future<Output = ()> {
  // An async block rather than an `async fn`, whose argument would stay in every connection's
  // task beside its moved copy.
  async move {
    let conn = side.conn.clone();
    let mut frames = VecDeque::new();
    while conn
      .out
      .take(&mut frames, |message| conn.compress(message))
      .await
    {
      // Compressing what it took may have brought the queue back within its bound.
      conn.shrunk();
      if write_all(&mut side.io, &mut frames, &conn).await.is_err() {
        // The peer is gone; the reader sees it too, but may be waiting for credit.
        conn.request(Request::Terminate);
        return;
      }
    }
    let _ = side.io.shutdown().await;
  }
}
