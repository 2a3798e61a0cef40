//! Takes over a socket Node has accepted: duplicates its file descriptor so Node can close its
//! own copy, and wraps the duplicate in a non-blocking tokio `TcpStream`.

use std::io;

use tokio::net::TcpStream;

/// Duplicates `fd` (close-on-exec) into a tokio stream. Must run inside the runtime context.
#[cfg(unix)]
pub fn adopt(fd: i32, no_delay: bool) -> io::Result<TcpStream> {
  use std::os::fd::{BorrowedFd, OwnedFd};
  if fd < 0 {
    return Err(io::Error::new(
      io::ErrorKind::InvalidInput,
      "no file descriptor",
    ));
  }
  // SAFETY: Node keeps `fd` open for the duration of this synchronous call.
  let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
  let owned: OwnedFd = borrowed.try_clone_to_owned()?;
  let std_stream = std::net::TcpStream::from(owned);
  std_stream.set_nonblocking(true)?;
  std_stream.set_nodelay(no_delay)?;
  TcpStream::from_std(std_stream)
}

/// The descriptor of an adopted stream, for writes from other threads (`Outbox::attach_fd`).
#[cfg(unix)]
pub fn fd_of(stream: &TcpStream) -> Option<crate::direct::Fd> {
  use std::os::fd::AsRawFd;
  Some(stream.as_raw_fd())
}

#[cfg(not(unix))]
pub fn fd_of(_stream: &TcpStream) -> Option<crate::direct::Fd> {
  None
}

#[cfg(not(unix))]
pub fn adopt(_fd: i32, _no_delay: bool) -> io::Result<TcpStream> {
  Err(io::Error::new(
    io::ErrorKind::Unsupported,
    "file descriptor handoff needs Linux or macOS",
  ))
}
