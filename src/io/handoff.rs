//! Takes over a socket Node has accepted: duplicates its file descriptor so Node can close its
//! own copy, and wraps the duplicate in a non-blocking tokio stream of its family (TCP, or a
//! Unix domain socket for a server listening on a path).

use std::io;

use tokio::net::{TcpStream, UnixStream};

/// An adopted socket.
pub enum Adopted {
  Tcp(TcpStream),
  Unix(UnixStream),
}

/// The stream socket families the engine runs connections over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
  Tcp,
  Unix,
}

/// What the caller knows of a descriptor it hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
  /// Nothing: any socket Node holds (an `'upgrade'` event's may come from anywhere). Its type
  /// and family are checked and it is made non-blocking.
  Nothing,
  /// Accepted by the server's own listener: libuv accepts non-blocking, and the family is the
  /// listener's. Three syscalls fewer per connection.
  Accepted(Family),
}

/// The family of stream socket `fd`; an error for any other kind of socket.
#[cfg(unix)]
fn family(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<Family> {
  use std::os::fd::AsRawFd;
  // SAFETY: `kind` and `storage` are large enough for what is asked and outlive the calls.
  let family = unsafe {
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    let kind_ptr = (&mut kind as *mut libc::c_int).cast::<libc::c_void>();
    if libc::getsockopt(
      fd.as_raw_fd(),
      libc::SOL_SOCKET,
      libc::SO_TYPE,
      kind_ptr,
      &mut len,
    ) != 0
    {
      return Err(io::Error::last_os_error());
    }
    if kind != libc::SOCK_STREAM {
      return Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "not a stream socket",
      ));
    }
    let mut storage: libc::sockaddr_storage = std::mem::zeroed();
    len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let addr = (&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr>();
    if libc::getsockname(fd.as_raw_fd(), addr, &mut len) != 0 {
      return Err(io::Error::last_os_error());
    }
    libc::c_int::from(storage.ss_family)
  };
  match family {
    libc::AF_INET | libc::AF_INET6 => Ok(Family::Tcp),
    libc::AF_UNIX => Ok(Family::Unix),
    other => Err(io::Error::new(
      io::ErrorKind::Unsupported,
      format!("socket family {other} is neither TCP nor a Unix stream"),
    )),
  }
}

/// Duplicates `fd` (close-on-exec) into a tokio stream. Must run inside the runtime context.
/// Anything but a TCP or Unix stream socket is refused, for the caller to bridge instead.
#[cfg(unix)]
pub fn adopt(fd: i32, known: Known, no_delay: bool) -> io::Result<Adopted> {
  use std::os::fd::{BorrowedFd, OwnedFd};
  if fd < 0 {
    return Err(io::Error::new(
      io::ErrorKind::InvalidInput,
      "no file descriptor",
    ));
  }
  // SAFETY: Node keeps `fd` open for the duration of this synchronous call.
  let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
  let (family, nonblocking) = match known {
    Known::Accepted(family) => (family, true),
    Known::Nothing => (family(borrowed)?, false),
  };
  // The duplicate shares the socket's file status flags, non-blocking included.
  let owned: OwnedFd = borrowed.try_clone_to_owned()?;
  match family {
    Family::Tcp => {
      let std_stream = std::net::TcpStream::from(owned);
      if !nonblocking {
        std_stream.set_nonblocking(true)?;
      }
      std_stream.set_nodelay(no_delay)?;
      TcpStream::from_std(std_stream).map(Adopted::Tcp)
    }
    // Nagle's algorithm is a TCP matter: a Unix stream has nothing to turn off.
    Family::Unix => {
      let std_stream = std::os::unix::net::UnixStream::from(owned);
      if !nonblocking {
        std_stream.set_nonblocking(true)?;
      }
      UnixStream::from_std(std_stream).map(Adopted::Unix)
    }
  }
}

#[cfg(not(unix))]
pub fn adopt(_fd: i32, _known: Known, _no_delay: bool) -> io::Result<Adopted> {
  Err(io::Error::new(
    io::ErrorKind::Unsupported,
    "file descriptor handoff needs Linux or macOS",
  ))
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::os::fd::AsRawFd;

  #[tokio::test]
  async fn a_unix_stream_is_adopted_as_one() {
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    assert!(matches!(
      adopt(a.as_raw_fd(), Known::Nothing, true),
      Ok(Adopted::Unix(_))
    ));
  }

  #[tokio::test]
  async fn a_tcp_stream_is_adopted_with_nodelay() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    match adopt(client.as_raw_fd(), Known::Nothing, true) {
      Ok(Adopted::Tcp(stream)) => assert!(stream.nodelay().unwrap()),
      _ => panic!("not adopted as TCP"),
    }
  }

  #[tokio::test]
  async fn an_accepted_socket_is_taken_as_told_and_keeps_its_flags() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    client.set_nonblocking(true).unwrap();
    match adopt(client.as_raw_fd(), Known::Accepted(Family::Tcp), true) {
      Ok(Adopted::Tcp(stream)) => {
        assert!(stream.nodelay().unwrap());
        // SAFETY: reads the flags of a descriptor `stream` owns.
        let flags = unsafe { libc::fcntl(stream.as_raw_fd(), libc::F_GETFL) };
        assert_ne!(flags & libc::O_NONBLOCK, 0);
      }
      _ => panic!("not adopted as TCP"),
    }
  }

  #[tokio::test]
  async fn a_datagram_socket_is_refused_even_without_nodelay() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert!(adopt(socket.as_raw_fd(), Known::Nothing, false).is_err());
  }
}
