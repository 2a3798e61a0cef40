//! The writer task: owns the socket's write side and writes whatever the outbox holds in
//! vectored bursts (many frames per syscall), then shuts the write side down.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;

use std::future::poll_fn;
use std::pin::Pin;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::conn::{Conn, Request};

/// Slices handed to one `writev`; Linux accepts up to 1024, 64 already covers a large burst.
const MAX_SLICES: usize = 64;

/// Writes every frame of `frames` to `io`, advancing past what was written.
async fn write_all<W: AsyncWrite + Unpin>(
  io: &mut W,
  frames: &mut VecDeque<Bytes>,
  conn: &Conn,
) -> std::io::Result<()> {
  while !frames.is_empty() {
    // The slices are built inside each poll, on the stack: kept across the await they would
    // add a kilobyte to every connection's task, idle or not.
    let mut written = poll_fn(|cx| {
      let mut slices = [IoSlice::new(&[]); MAX_SLICES];
      let count = frames.len().min(MAX_SLICES);
      for (slice, frame) in slices.iter_mut().zip(frames.iter()) {
        *slice = IoSlice::new(frame);
      }
      Pin::new(&mut *io).poll_write_vectored(cx, &slices[..count])
    })
    .await?;
    if written == 0 {
      return Err(std::io::ErrorKind::WriteZero.into());
    }
    let remaining = conn.out.written(written);
    while written > 0 {
      let front = frames
        .front_mut()
        .expect("written bytes come from queued frames");
      let step = written.min(front.len());
      front.advance(step);
      written -= step;
      if front.is_empty() {
        frames.pop_front();
      }
    }
    if frames.is_empty() {
      conn.after_write(remaining);
    }
  }
  Ok(())
}

/// Runs until the outbox is finished and written, or the socket fails.
pub async fn run<W: AsyncWrite + Unpin>(conn: Arc<Conn>, mut io: W) {
  let mut frames = VecDeque::new();
  while conn.out.take(&mut frames).await {
    if write_all(&mut io, &mut frames, &conn).await.is_err() {
      // The peer is gone; the reader sees it too, but may be waiting for credit.
      conn.request(Request::Terminate);
      return;
    }
  }
  let _ = io.shutdown().await;
}
