//! Opening client connections and building the messages the scenarios send.

use crate::sys;
use bytes::Bytes;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A handshake that takes longer than this counts as a failure rather than hanging a scenario.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Target {
  /// `host:port` for the TCP connect.
  pub addr: String,
  /// The full `ws://` URL for the handshake request.
  pub url: String,
  /// Client read buffer per connection: tungstenite allocates it up front (128 KiB by default),
  /// which matters at 10,000 connections and does not help small messages.
  pub read_buffer: usize,
  /// The local address to connect from; None lets the kernel pick (127.0.0.1 on loopback).
  pub source: Option<Ipv4Addr>,
}

impl Target {
  pub fn parse(url: &str, read_buffer: usize) -> Result<Target, String> {
    let rest = url
      .strip_prefix("ws://")
      .ok_or_else(|| format!("--url must start with ws:// (loopback benchmarks only): {url}"))?;
    let addr = rest.split('/').next().unwrap_or_default().to_string();
    if addr.is_empty() {
      return Err(format!("--url has no host: {url}"));
    }
    Ok(Target {
      addr,
      url: url.to_string(),
      read_buffer,
      source: None,
    })
  }

  /// The request path of the URL (`/` when it has none).
  pub fn path(&self) -> &str {
    match &self.url["ws://".len() + self.addr.len()..] {
      "" => "/",
      path => path,
    }
  }

  /// The same server at another path (`/rooms/7`).
  pub fn at_path(&self, path: &str) -> Target {
    Target {
      url: format!("ws://{}{path}", self.addr),
      ..self.clone()
    }
  }

  /// The same server, connected to from `source`. The server must be on IPv4 loopback, the only
  /// place a 127.x source address can reach.
  pub fn with_source(&self, source: Ipv4Addr) -> Result<Target, String> {
    match self.addr.parse::<SocketAddrV4>() {
      Ok(dest) if dest.ip().is_loopback() => Ok(Target {
        source: Some(source),
        ..self.clone()
      }),
      _ => Err(format!(
        "{} is not an IPv4 loopback address: cannot connect from {source}",
        self.addr
      )),
    }
  }

  /// The TCP connection, from `source` when there is one, with Nagle off (as every server under
  /// test sets it).
  pub async fn tcp(&self) -> Result<TcpStream, Error> {
    let tcp = match self.source {
      None => TcpStream::connect(&self.addr).await?,
      Some(source) => {
        let socket = TcpSocket::new_v4()?;
        // Without this, bind() picks the source port by itself, unique across every
        // destination: a source address would give at most one connection per ephemeral port
        // in all, and ports left in TIME_WAIT by a previous run would count against it.
        // Deferred to connect(), the port need only be unique for this server's address.
        sys::bind_address_no_port(&socket)?;
        socket.bind(SocketAddr::new(source.into(), 0))?;
        socket.connect(self.addr.parse()?).await?
      }
    };
    tcp.set_nodelay(true)?;
    Ok(tcp)
  }

  /// TCP connect (see `tcp`) and the client handshake.
  pub async fn connect(&self) -> Result<Ws, Error> {
    let config = WebSocketConfig::default()
      .read_buffer_size(self.read_buffer)
      // Servers under test should not need more; the cap guards the loadgen's own memory.
      .max_message_size(Some(64 << 20));
    let open = async {
      let tcp = self.tcp().await?;
      let (ws, _response) =
        tokio_tungstenite::client_async_with_config(self.url.as_str(), tcp, Some(config)).await?;
      Ok::<Ws, Error>(ws)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, open)
      .await
      .map_err(|_| "connect timed out")?
  }
}

/// A message of `size` bytes, text or binary. Text and binary messages share the bytes, which
/// are ASCII and so valid UTF-8.
pub fn message(payload: Bytes, binary: bool) -> Message {
  if binary {
    Message::Binary(payload)
  } else {
    Message::Text(Utf8Bytes::try_from(payload).expect("payloads are ASCII"))
  }
}

/// The payload of a message as bytes, whatever its type; None for control frames.
pub fn data_of(msg: &Message) -> Option<(&[u8], bool)> {
  match msg {
    Message::Text(text) => Some((text.as_bytes(), false)),
    Message::Binary(bytes) => Some((bytes, true)),
    _ => None,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn parses_urls() {
    let t = Target::parse("ws://127.0.0.1:9001/chat", 4096).unwrap();
    assert_eq!(t.addr, "127.0.0.1:9001");
    assert!(Target::parse("wss://x/", 1).is_err());
    assert!(Target::parse("ws:///", 1).is_err());
    assert_eq!(t.path(), "/chat");
    assert_eq!(Target::parse("ws://h:1", 1).unwrap().path(), "/");
    assert_eq!(t.at_path("/rooms/3").url, "ws://127.0.0.1:9001/rooms/3");
    let from = t.with_source(Ipv4Addr::new(127, 0, 0, 2)).unwrap();
    assert_eq!(from.source, Some(Ipv4Addr::new(127, 0, 0, 2)));
    assert!(Target::parse("ws://localhost:1/", 1)
      .unwrap()
      .with_source(Ipv4Addr::LOCALHOST)
      .is_err());
  }
}
