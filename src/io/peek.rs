//! A look at a new connection's first bytes without taking them: the intake reads the request
//! head where the kernel holds it, so a connection the engine does not take reaches Node's parser
//! untouched, and one it takes has exactly those bytes removed.

use std::io;

/// The most bytes looked at: a request head longer than this goes the way of Node's sockets.
pub const MAX_HEAD: usize = 8192;

/// The bytes socket `fd` has received so far, when they hold a whole request head (through the
/// blank line); None while it is incomplete, or when nothing or too much has come.
#[cfg(unix)]
pub fn request_head(fd: i32) -> Option<Vec<u8>> {
  let mut buf = [0u8; MAX_HEAD];
  // SAFETY: `buf` outlives the call and holds `MAX_HEAD` bytes.
  let n = unsafe {
    libc::recv(
      fd,
      buf.as_mut_ptr().cast(),
      MAX_HEAD,
      libc::MSG_PEEK | libc::MSG_DONTWAIT,
    )
  };
  let seen = &buf[..usize::try_from(n).ok().filter(|&n| n > 0)?];
  seen
    .windows(4)
    .any(|w| w == b"\r\n\r\n")
    .then(|| seen.to_vec())
}

#[cfg(not(unix))]
pub fn request_head(_fd: i32) -> Option<Vec<u8>> {
  None
}

/// Removes the first `len` bytes of what socket `fd` has received, which `request_head` saw.
#[cfg(unix)]
pub fn discard(fd: i32, len: usize) -> io::Result<()> {
  let mut buf = [0u8; MAX_HEAD];
  let mut done = 0;
  while done < len {
    let want = (len - done).min(MAX_HEAD);
    // SAFETY: `want` bytes fit in `buf`.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), want, libc::MSG_DONTWAIT) };
    match n {
      n if n > 0 => done += n as usize,
      0 => return Err(io::ErrorKind::UnexpectedEof.into()),
      _ => {
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
          return Err(err);
        }
      }
    }
  }
  Ok(())
}

#[cfg(not(unix))]
pub fn discard(_fd: i32, _len: usize) -> io::Result<()> {
  Err(io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::io::{Read, Write};
  use std::os::fd::AsRawFd;
  use std::os::unix::net::UnixStream;

  #[test]
  fn a_whole_head_is_seen_and_stays_until_discarded() {
    let (mut client, mut server) = UnixStream::pair().unwrap();
    client.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n").unwrap();
    assert_eq!(request_head(server.as_raw_fd()), None, "incomplete");
    client.write_all(b"\r\nextra").unwrap();
    let head = request_head(server.as_raw_fd()).unwrap();
    assert_eq!(head, b"GET / HTTP/1.1\r\nHost: a\r\n\r\nextra");
    assert_eq!(
      request_head(server.as_raw_fd()).unwrap(),
      head,
      "peeking takes nothing"
    );
    discard(server.as_raw_fd(), head.len() - 5).unwrap();
    client.write_all(b"!").unwrap();
    let mut rest = [0; 6];
    server.read_exact(&mut rest).unwrap();
    assert_eq!(&rest, b"extra!");
  }

  #[test]
  fn nothing_received_is_no_head() {
    let (_client, server) = UnixStream::pair().unwrap();
    assert_eq!(request_head(server.as_raw_fd()), None);
    assert!(discard(server.as_raw_fd(), 1).is_err());
  }
}
