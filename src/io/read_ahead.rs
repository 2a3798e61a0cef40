//! Socket reads that leave idle connections without a read buffer. Each read takes up to
//! `SCRATCH` bytes into a stack buffer, hands the caller what it asked for and keeps only the
//! surplus. tungstenite can then ask for small reads (its buffer is kept for the connection's
//! whole life, idle or not) while a large message still costs few syscalls.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, ReadBuf};

/// The most one socket read takes.
const SCRATCH: usize = 32 * 1024;

pub struct ReadAhead<R> {
  inner: R,
  /// Bytes read from the socket and not yet asked for; empty (and unallocated) when idle.
  surplus: Bytes,
}

impl<R> ReadAhead<R> {
  pub fn new(inner: R) -> Self {
    ReadAhead {
      inner,
      surplus: Bytes::new(),
    }
  }

  /// The socket's read side, bypassing (and leaving) any surplus.
  pub fn inner(&mut self) -> &mut R {
    &mut self.inner
  }
}

impl<R: AsyncRead + Unpin> AsyncRead for ReadAhead<R> {
  fn poll_read(
    mut self: Pin<&mut Self>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
  ) -> Poll<io::Result<()>> {
    let this = &mut *self;
    if !this.surplus.is_empty() {
      let n = buf.remaining().min(this.surplus.len());
      buf.put_slice(&this.surplus[..n]);
      this.surplus.advance(n);
      if this.surplus.is_empty() {
        // An emptied `Bytes` still holds its allocation.
        this.surplus = Bytes::new();
      }
      return Poll::Ready(Ok(()));
    }
    if buf.remaining() >= SCRATCH {
      return Pin::new(&mut this.inner).poll_read(cx, buf);
    }
    let mut scratch = [MaybeUninit::<u8>::uninit(); SCRATCH];
    let mut read = ReadBuf::uninit(&mut scratch);
    ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
    let got = read.filled();
    let n = got.len().min(buf.remaining());
    buf.put_slice(&got[..n]);
    if n < got.len() {
      this.surplus = Bytes::copy_from_slice(&got[n..]);
    }
    Poll::Ready(Ok(()))
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use tokio::io::AsyncReadExt;

  #[tokio::test]
  async fn small_reads_are_served_from_one_large_read_in_order() {
    let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let mut reader = ReadAhead::new(&data[..]);
    let mut got = Vec::new();
    let mut chunk = [0u8; 100];
    loop {
      let n = reader.read(&mut chunk).await.unwrap();
      if n == 0 {
        break;
      }
      got.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(got, data);
    assert!(reader.surplus.is_empty());
  }

  #[tokio::test]
  async fn large_reads_go_straight_to_the_caller() {
    let data = vec![7u8; SCRATCH * 2];
    let mut reader = ReadAhead::new(&data[..]);
    let mut big = vec![0u8; SCRATCH * 2];
    reader.read_exact(&mut big).await.unwrap();
    assert_eq!(big, data);
  }
}
