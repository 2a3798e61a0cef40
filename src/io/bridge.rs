//! The byte bridge: runs a connection over a socket Node keeps (TLS, or no file descriptor).
//! JavaScript feeds the socket's bytes in; the writer's bytes go back to JavaScript as events
//! for `socket.write`. Both directions are bounded: reading pauses the Node socket above
//! `IN_BOUND`, writing waits for credit that JavaScript returns once `socket.write` is done.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the bridge asks of JavaScript, which owns the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeEvent<'a> {
  /// Write these bytes to the socket, then call `written` with their length.
  Write(&'a [u8]),
  /// The engine is done writing: end the socket.
  End,
  /// The engine has read below half the bound: resume the socket.
  Resume,
}

/// Where bridge events go (the server's event queue, in production).
pub trait BridgeEvents: Send + Sync {
  fn bridge(&self, id: u32, event: BridgeEvent<'_>);
}

/// Bytes fed in and not yet read by the engine, above which JavaScript pauses the socket.
pub const IN_BOUND: usize = 256 * 1024;
/// Bytes handed to JavaScript and not yet written by `socket.write`, above which the writer waits.
pub const OUT_BOUND: usize = 256 * 1024;

#[derive(Default)]
struct Inbound {
  chunks: VecDeque<Bytes>,
  bytes: usize,
  eof: bool,
  /// JavaScript paused the socket because `feed` returned false.
  paused: bool,
  reader: Option<Waker>,
}

struct Outbound {
  credit: usize,
  writer: Option<Waker>,
}

/// The state both halves and JavaScript share.
pub struct Bridge {
  id: u32,
  events: Arc<dyn BridgeEvents>,
  inbound: Mutex<Inbound>,
  outbound: Mutex<Outbound>,
}

impl Bridge {
  pub fn new(id: u32, events: Arc<dyn BridgeEvents>) -> Arc<Self> {
    Arc::new(Bridge {
      id,
      events,
      inbound: Mutex::default(),
      outbound: Mutex::new(Outbound {
        credit: OUT_BOUND,
        writer: None,
      }),
    })
  }

  /// Bytes from the socket. Returns false when JavaScript should pause the socket; a
  /// `BridgeResume` event follows once the engine has read below half the bound.
  pub fn feed(&self, chunk: &[u8]) -> bool {
    let mut inbound = self.inbound.lock().unwrap();
    if inbound.eof || chunk.is_empty() {
      return true;
    }
    inbound.bytes += chunk.len();
    inbound.chunks.push_back(Bytes::copy_from_slice(chunk));
    let below = inbound.bytes < IN_BOUND;
    inbound.paused = !below;
    if let Some(waker) = inbound.reader.take() {
      waker.wake();
    }
    below
  }

  /// The socket ended or closed: the engine reads EOF after what was fed.
  pub fn end(&self) {
    let mut inbound = self.inbound.lock().unwrap();
    inbound.eof = true;
    if let Some(waker) = inbound.reader.take() {
      waker.wake();
    }
  }

  /// JavaScript's `socket.write` finished with `n` bytes of a `BridgeWrite` event.
  pub fn written(&self, n: usize) {
    let mut outbound = self.outbound.lock().unwrap();
    outbound.credit = (outbound.credit + n).min(OUT_BOUND);
    if let Some(waker) = outbound.writer.take() {
      waker.wake();
    }
  }

  pub fn halves(self: &Arc<Self>) -> (BridgeReader, BridgeWriter) {
    (BridgeReader(self.clone()), BridgeWriter(self.clone()))
  }
}

pub struct BridgeReader(Arc<Bridge>);

impl AsyncRead for BridgeReader {
  fn poll_read(
    self: Pin<&mut Self>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
  ) -> Poll<io::Result<()>> {
    let bridge = &self.0;
    let mut inbound = bridge.inbound.lock().unwrap();
    let Some(front) = inbound.chunks.front_mut() else {
      if !inbound.eof {
        inbound.reader = Some(cx.waker().clone());
        return Poll::Pending;
      }
      return Poll::Ready(Ok(()));
    };
    let n = front.len().min(buf.remaining());
    buf.put_slice(&front[..n]);
    front.advance(n);
    if front.is_empty() {
      inbound.chunks.pop_front();
    }
    inbound.bytes -= n;
    if inbound.paused && inbound.bytes < IN_BOUND / 2 {
      inbound.paused = false;
      drop(inbound);
      bridge.events.bridge(bridge.id, BridgeEvent::Resume);
    }
    Poll::Ready(Ok(()))
  }
}

pub struct BridgeWriter(Arc<Bridge>);

impl AsyncWrite for BridgeWriter {
  fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    let bridge = &self.0;
    let mut outbound = bridge.outbound.lock().unwrap();
    if outbound.credit == 0 {
      outbound.writer = Some(cx.waker().clone());
      return Poll::Pending;
    }
    let n = outbound.credit.min(buf.len());
    outbound.credit -= n;
    drop(outbound);
    bridge
      .events
      .bridge(bridge.id, BridgeEvent::Write(&buf[..n]));
    Poll::Ready(Ok(n))
  }

  fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
    Poll::Ready(Ok(()))
  }

  fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
    self.0.events.bridge(self.0.id, BridgeEvent::End);
    Poll::Ready(Ok(()))
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use tokio::io::{AsyncReadExt, AsyncWriteExt};

  /// Events nobody reads.
  struct Ignored;

  impl BridgeEvents for Ignored {
    fn bridge(&self, _: u32, _: BridgeEvent<'_>) {}
  }

  #[tokio::test]
  async fn reads_what_was_fed_then_eof() {
    let bridge = Bridge::new(1, Arc::new(Ignored));
    let (mut reader, _) = bridge.halves();
    assert!(bridge.feed(b"hello "));
    assert!(bridge.feed(b"world"));
    bridge.end();
    let mut out = String::new();
    reader.read_to_string(&mut out).await.unwrap();
    assert_eq!(out, "hello world");
  }

  #[test]
  fn feeding_past_the_bound_asks_for_a_pause() {
    let bridge = Bridge::new(1, Arc::new(Ignored));
    assert!(!bridge.feed(&vec![0; IN_BOUND]));
  }

  #[tokio::test]
  async fn the_writer_waits_for_credit() {
    let bridge = Bridge::new(1, Arc::new(Ignored));
    let (_, mut writer) = bridge.halves();
    writer.write_all(&vec![1; OUT_BOUND]).await.unwrap();
    let blocked =
      tokio::time::timeout(std::time::Duration::from_millis(50), writer.write_all(b"x"));
    assert!(blocked.await.is_err());
    bridge.written(1);
    writer.write_all(b"x").await.unwrap();
  }
}
