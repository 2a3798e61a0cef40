//! Socket reads that leave idle connections without a read buffer: a read lands in a stack
//! buffer and only what arrived is appended to the connection's input, unless the input already
//! has room reserved (for the rest of a large frame), which the read then fills directly.

use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::ready;

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, ReadBuf};

/// The most one socket read takes into the stack buffer.
const SCRATCH: usize = 32 * 1024;

/// Reads once from `io`, appending to `input`; returns the bytes read (0 at EOF).
pub async fn read_into<R: AsyncRead + Unpin>(
  io: &mut R,
  input: &mut BytesMut,
) -> io::Result<usize> {
  poll_fn(|cx| {
    if input.capacity() - input.len() >= SCRATCH {
      let mut read = ReadBuf::uninit(input.spare_capacity_mut());
      ready!(Pin::new(&mut *io).poll_read(cx, &mut read))?;
      let n = read.filled().len();
      // SAFETY: the read initialized `n` bytes of the spare capacity.
      unsafe { input.advance_mut(n) };
      return Ok(n).into();
    }
    let mut scratch = [MaybeUninit::<u8>::uninit(); SCRATCH];
    let mut read = ReadBuf::uninit(&mut scratch);
    ready!(Pin::new(&mut *io).poll_read(cx, &mut read))?;
    input.extend_from_slice(read.filled());
    Ok(read.filled().len()).into()
  })
  .await
}

#[cfg(test)]
mod tests {
  use super::*;

  #[tokio::test]
  async fn small_reads_allocate_only_what_arrived() {
    let data = [7u8; 100];
    let mut input = BytesMut::new();
    assert_eq!(read_into(&mut &data[..], &mut input).await.unwrap(), 100);
    assert_eq!(&input[..], &data[..]);
    assert!(input.capacity() < SCRATCH);
  }

  #[tokio::test]
  async fn reserved_room_is_filled_directly() {
    let data = vec![9u8; SCRATCH * 2];
    let mut input = BytesMut::with_capacity(SCRATCH * 2);
    let mut source = &data[..];
    while input.len() < data.len() {
      read_into(&mut source, &mut input).await.unwrap();
    }
    assert_eq!(&input[..], &data[..]);
  }
}
