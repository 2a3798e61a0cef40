//! Writing to a socket by its descriptor, from whichever thread holds the connection's write
//! turn (see `Outbox::write_now`): the JavaScript thread writes the frames it queued itself
//! instead of waking the writer task, which on a busy core costs a thread switch per burst.

use std::io::{self, IoSlice};

/// A socket descriptor.
#[cfg(unix)]
pub type Fd = std::os::fd::RawFd;
#[cfg(not(unix))]
pub type Fd = i32;

/// One vectored, non-blocking write. A peer that has gone away is an error, never a SIGPIPE.
#[cfg(target_os = "linux")]
pub fn write_vectored(fd: Fd, slices: &[IoSlice<'_>]) -> io::Result<usize> {
  // SAFETY: `IoSlice` is ABI-compatible with `iovec` on Unix; the message lives for the call.
  let written = unsafe {
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_iov = slices.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = slices.len() as _;
    libc::sendmsg(fd, &msg, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
  };
  if written < 0 {
    Err(io::Error::last_os_error())
  } else {
    Ok(written as usize)
  }
}

/// Without `MSG_NOSIGNAL`, `writev`: Node ignores SIGPIPE, and the descriptor is non-blocking.
#[cfg(all(unix, not(target_os = "linux")))]
pub fn write_vectored(fd: Fd, slices: &[IoSlice<'_>]) -> io::Result<usize> {
  // SAFETY: as above; `slices.len()` is at most `outbox::MAX_SLICES`.
  let written =
    unsafe { libc::writev(fd, slices.as_ptr() as *const libc::iovec, slices.len() as _) };
  if written < 0 {
    Err(io::Error::last_os_error())
  } else {
    Ok(written as usize)
  }
}

#[cfg(not(unix))]
pub fn write_vectored(_fd: Fd, _slices: &[IoSlice<'_>]) -> io::Result<usize> {
  Err(io::ErrorKind::Unsupported.into())
}

/// The peer's and the local address of TCP socket `fd`; None for any other socket (a Unix
/// socket has none to show, as Node reports) or one that failed.
#[cfg(unix)]
pub fn tcp_addresses(fd: Fd) -> Option<(std::net::SocketAddr, std::net::SocketAddr)> {
  use std::os::fd::FromRawFd;
  // SAFETY: the caller keeps `fd` open for the call (`Outbox::with_fd`), and the stream is never
  // dropped, so it does not close it.
  let stream = std::mem::ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(fd) });
  Some((stream.peer_addr().ok()?, stream.local_addr().ok()?))
}

#[cfg(not(unix))]
pub fn tcp_addresses(_fd: Fd) -> Option<(std::net::SocketAddr, std::net::SocketAddr)> {
  None
}

#[cfg(all(test, unix))]
mod tests {
  use super::*;
  use std::io::Read;
  use std::os::fd::AsRawFd;
  use std::os::unix::net::UnixStream;

  #[test]
  fn writes_every_slice_in_order() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let slices = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")];
    assert_eq!(write_vectored(a.as_raw_fd(), &slices).unwrap(), 5);
    let mut got = [0; 5];
    b.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"abcde");
  }

  #[test]
  fn a_full_socket_would_block_and_a_closed_peer_is_an_error() {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let full = loop {
      match write_vectored(a.as_raw_fd(), &[IoSlice::new(&chunk)]) {
        Ok(_) => continue,
        Err(e) => break e,
      }
    };
    assert_eq!(full.kind(), io::ErrorKind::WouldBlock);
    drop(b);
    let gone = write_vectored(a.as_raw_fd(), &[IoSlice::new(b"x")]).unwrap_err();
    assert_eq!(gone.kind(), io::ErrorKind::BrokenPipe);
  }
}
