//! The WebSocket client of `--deflate` runs. tungstenite has no permessage-deflate and refuses
//! frames with RSV1 set, so this one does the upgrade by hand (offering the extension), writes
//! frames built in advance (see deflate.rs) and reads frames only as far as it takes to count
//! whole messages: it never inflates, so a run costs the loadgen no zlib time.

use crate::conn::{Error, Target, CONNECT_TIMEOUT};
use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xa;

/// The offer: no `server_no_context_takeover`, so each server compresses as it does by default;
/// `client_no_context_takeover`, so every message this client sends can be the same bytes. No
/// `client_max_window_bits` either, so the server may not narrow the window the payload was
/// compressed with (RFC 7692 §7.1.2.2).
const OFFER: &str = "permessage-deflate; client_no_context_takeover";
/// A handshake response longer than this is not one.
const MAX_HEAD: usize = 8 * 1024;
/// The largest frame read, as tungstenite's cap guards the loadgen's memory in the other runs.
const MAX_FRAME: u64 = 64 << 20;
/// RFC 6455 has clients mask every frame, to keep proxies from being poisoned. The key is fixed,
/// not random: there is no proxy on loopback, and a fixed key lets a run send the same bytes for
/// every message.
const MASK: [u8; 4] = [0x5a, 0x3c, 0x96, 0xe1];

/// A client frame with FIN set.
pub fn client_frame(opcode: u8, rsv1: bool, payload: &[u8]) -> Vec<u8> {
  let mut out = Vec::with_capacity(payload.len() + 14);
  out.push(0x80 | if rsv1 { 0x40 } else { 0 } | opcode);
  match payload.len() {
    n if n < 126 => out.push(0x80 | n as u8),
    n if n <= 0xffff => {
      out.push(0x80 | 126);
      out.extend_from_slice(&(n as u16).to_be_bytes());
    }
    n => {
      out.push(0x80 | 127);
      out.extend_from_slice(&(n as u64).to_be_bytes());
    }
  }
  out.extend_from_slice(&MASK);
  out.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
  out
}

/// A close frame with status 1000, to end a connection politely.
pub fn close_frame() -> Vec<u8> {
  client_frame(CLOSE, false, &1000u16.to_be_bytes())
}

/// One whole data message, as far as a counting client cares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Data {
  pub binary: bool,
  /// RSV1 on its first frame: the server compressed it.
  pub compressed: bool,
}

#[derive(Debug, PartialEq)]
pub enum Frame {
  Data(Data),
  Ping(Bytes),
  Close,
}

/// Reads frames from one half of a connection. Pongs and the frames before a message's last are
/// consumed without a word; the message is reported when its last frame arrives.
pub struct Reader<R> {
  io: R,
  buf: BytesMut,
  read_size: usize,
  /// The message whose first frames have arrived, not its last.
  partial: Option<Data>,
}

/// The frame header at the start of `buf`: its first byte, the header's length and the
/// payload's, or None until the whole header is there.
fn header(buf: &[u8]) -> Result<Option<(u8, usize, usize)>, Error> {
  let [b0, b1, ..] = *buf else {
    return Ok(None);
  };
  if b1 & 0x80 != 0 {
    return Err("the server masked a frame".into());
  }
  if b0 & 0x30 != 0 {
    return Err("the server set RSV2 or RSV3".into());
  }
  let (head, len) = match b1 & 0x7f {
    126 => match buf.get(2..4) {
      Some(n) => (4, u64::from(u16::from_be_bytes([n[0], n[1]]))),
      None => return Ok(None),
    },
    127 => match buf.get(2..10) {
      Some(n) => (10, u64::from_be_bytes(n.try_into().expect("8 bytes"))),
      None => return Ok(None),
    },
    n => (2, u64::from(n)),
  };
  if len > MAX_FRAME {
    return Err(format!("a frame of {len} bytes").into());
  }
  Ok(Some((b0, head, len as usize)))
}

impl<R: AsyncRead + Unpin> Reader<R> {
  /// The next data message, ping or close, reading from the socket only when none is buffered.
  pub async fn frame(&mut self) -> Result<Frame, Error> {
    loop {
      if let Some(frame) = self.buffered()? {
        return Ok(frame);
      }
      self.buf.reserve(self.read_size);
      if self.io.read_buf(&mut self.buf).await? == 0 {
        return Err("the connection ended".into());
      }
    }
  }

  /// The next data message, ping or close already buffered, if any.
  fn buffered(&mut self) -> Result<Option<Frame>, Error> {
    loop {
      let Some((b0, head, len)) = header(&self.buf)? else {
        return Ok(None);
      };
      if self.buf.len() < head + len {
        return Ok(None);
      }
      let (fin, rsv1, opcode) = (b0 & 0x80 != 0, b0 & 0x40 != 0, b0 & 0x0f);
      if opcode == PING {
        let payload = Bytes::copy_from_slice(&self.buf[head..head + len]);
        self.buf.advance(head + len);
        return Ok(Some(Frame::Ping(payload)));
      }
      self.buf.advance(head + len);
      let data = match opcode {
        TEXT | BINARY if self.partial.is_none() => Data {
          binary: opcode == BINARY,
          compressed: rsv1,
        },
        CONTINUATION => self
          .partial
          .take()
          .ok_or("a continuation frame outside a message")?,
        TEXT | BINARY => return Err("a new message inside a fragmented one".into()),
        CLOSE => return Ok(Some(Frame::Close)),
        PONG => continue,
        other => return Err(format!("unknown opcode {other:#x}").into()),
      };
      if fin {
        return Ok(Some(Frame::Data(data)));
      }
      self.partial = Some(data);
    }
  }
}

/// A connection with permessage-deflate agreed.
pub struct RawWs {
  reader: Reader<OwnedReadHalf>,
  writer: OwnedWriteHalf,
  /// The server's Sec-WebSocket-Extensions: what it agreed to (context takeover, window bits).
  pub negotiated: String,
}

impl RawWs {
  /// TCP connect (see `Target::tcp`) and an upgrade offering permessage-deflate.
  /// Fails unless the server agrees to it: this client's frames are compressed.
  pub async fn connect(target: &Target) -> Result<RawWs, Error> {
    let open = async {
      let mut tcp = target.tcp().await?;
      let key = generate_key();
      tcp.write_all(request(target, &key).as_bytes()).await?;
      let mut buf = BytesMut::with_capacity(target.read_buffer);
      let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
          break at + 4;
        }
        if buf.len() > MAX_HEAD {
          return Err("the handshake response has no end".into());
        }
        buf.reserve(1024);
        if tcp.read_buf(&mut buf).await? == 0 {
          return Err("the server closed during the handshake".into());
        }
      };
      let negotiated = accepted(std::str::from_utf8(&buf[..end])?, &key)?;
      // Whatever follows the response is the first frames.
      buf.advance(end);
      let (io, writer) = tcp.into_split();
      let reader = Reader {
        io,
        buf,
        read_size: target.read_buffer,
        partial: None,
      };
      Ok::<RawWs, Error>(RawWs {
        reader,
        writer,
        negotiated,
      })
    };
    tokio::time::timeout(CONNECT_TIMEOUT, open)
      .await
      .map_err(|_| "connect timed out")?
  }

  /// Writes frames built beforehand (one, or several back to back).
  pub async fn send(&mut self, frames: &[u8]) -> Result<(), Error> {
    Ok(self.writer.write_all(frames).await?)
  }

  /// Waits for the next message, then takes every further one already buffered, so a burst is
  /// handled in one go. Answers pings. Ok(false) once the server has sent its close frame.
  pub async fn read(&mut self, into: &mut Vec<Data>) -> Result<bool, Error> {
    let mut next = Some(self.reader.frame().await?);
    while let Some(frame) = next {
      match frame {
        Frame::Data(data) => into.push(data),
        Frame::Ping(payload) => self.send(&client_frame(PONG, false, &payload)).await?,
        Frame::Close => return Ok(false),
      }
      next = match self.reader.buffered()? {
        Some(frame) => Some(frame),
        None if into.is_empty() => Some(self.reader.frame().await?),
        None => None,
      };
    }
    Ok(true)
  }

  /// Its halves, to read and write from separate tasks. The writer must outlive the run:
  /// dropping it half-closes the connection.
  pub fn into_split(self) -> (Reader<OwnedReadHalf>, OwnedWriteHalf) {
    (self.reader, self.writer)
  }
}

fn request(target: &Target, key: &str) -> String {
  format!(
    "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
     Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: {OFFER}\r\n\r\n",
    target.path(),
    target.addr,
  )
}

/// Checks the server's response to a request made with `key` and returns its
/// Sec-WebSocket-Extensions, which must agree to permessage-deflate.
fn accepted(head: &str, key: &str) -> Result<String, String> {
  let mut lines = head.split("\r\n");
  let status = lines.next().unwrap_or_default();
  if !status.starts_with("HTTP/1.1 101 ") {
    return Err(format!("the server answered {status:?}"));
  }
  let mut accept = None;
  let mut extensions = Vec::new();
  for (name, value) in lines.filter_map(|line| line.split_once(':')) {
    if name.eq_ignore_ascii_case("sec-websocket-accept") {
      accept = Some(value.trim());
    } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
      extensions.push(value.trim());
    }
  }
  if accept != Some(derive_accept_key(key.as_bytes()).as_str()) {
    return Err("the server's Sec-WebSocket-Accept does not match the key".into());
  }
  let extensions = extensions.join(", ");
  let first = extensions.split([',', ';']).next().unwrap_or_default();
  if !first.trim().eq_ignore_ascii_case("permessage-deflate") {
    return Err(format!(
      "the server did not agree to permessage-deflate (Sec-WebSocket-Extensions: {extensions:?})"
    ));
  }
  Ok(extensions)
}

#[cfg(test)]
mod tests {
  use super::*;

  /// A server frame: never masked.
  fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    match payload.len() {
      n if n < 126 => out.push(n as u8),
      n => {
        out.push(126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
      }
    }
    out.extend_from_slice(payload);
    out
  }

  fn reader(bytes: &[u8]) -> Reader<&'static [u8]> {
    Reader {
      io: &[],
      buf: BytesMut::from(bytes),
      read_size: 1024,
      partial: None,
    }
  }

  #[test]
  fn client_frames_are_masked_with_the_length_encoded() {
    let short = client_frame(TEXT, true, b"Hi");
    assert_eq!(short[..2], [0xc1, 0x82]);
    assert_eq!(short[2..6], MASK);
    assert_eq!([short[6] ^ MASK[0], short[7] ^ MASK[1]], *b"Hi");
    let long = client_frame(BINARY, false, &[7; 300]);
    assert_eq!(long[..4], [0x82, 0x80 | 126, 1, 44]);
    assert_eq!(long.len(), 4 + 4 + 300);
  }

  #[test]
  fn messages_are_counted_whole_across_fragments_pongs_and_partial_reads() {
    let mut wire = server_frame(0xc1, b"compressed, fin");
    wire.extend(server_frame(0x02, &[1; 200]));
    wire.extend(server_frame(0x8a, b"pong"));
    wire.extend(server_frame(0x80, b"last"));
    wire.extend(server_frame(0x89, b"ping"));
    let mut r = reader(&wire[..wire.len() - 1]);
    let text = Data {
      binary: false,
      compressed: true,
    };
    let binary = Data {
      binary: true,
      compressed: false,
    };
    assert_eq!(r.buffered().unwrap(), Some(Frame::Data(text)));
    assert_eq!(r.buffered().unwrap(), Some(Frame::Data(binary)));
    assert_eq!(r.buffered().unwrap(), None);
    r.buf.extend_from_slice(&wire[wire.len() - 1..]);
    assert_eq!(
      r.buffered().unwrap(),
      Some(Frame::Ping(Bytes::from_static(b"ping")))
    );
    assert_eq!(r.buffered().unwrap(), None);
  }

  #[test]
  fn protocol_errors_are_refused() {
    assert!(reader(&[0x81, 0x81, 0, 0, 0, 0, b'x']).buffered().is_err());
    assert!(reader(&server_frame(0x80, b"x")).buffered().is_err());
    assert!(reader(&server_frame(0x91, b"x")).buffered().is_err());
    let mut twice = server_frame(0x01, b"a");
    twice.extend(server_frame(0x81, b"b"));
    assert!(reader(&twice).buffered().is_err());
    assert_eq!(
      reader(&server_frame(0x88, &[3, 232])).buffered().unwrap(),
      Some(Frame::Close)
    );
  }

  #[test]
  fn the_response_must_accept_the_key_and_the_extension() {
    // The key and accept value of RFC 6455 §1.3.
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
              sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
              Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n\r\n";
    assert_eq!(
      accepted(ok, key).unwrap(),
      "permessage-deflate; client_no_context_takeover"
    );
    let plain = "HTTP/1.1 101 Switching Protocols\r\n\
                 Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    assert!(accepted(plain, key).unwrap_err().contains("did not agree"));
    assert!(accepted(ok, "AAAAAAAAAAAAAAAAAAAAAA==").is_err());
    assert!(accepted("HTTP/1.1 400 Bad Request\r\n\r\n", key).is_err());
  }

  #[test]
  fn the_request_offers_the_extension_on_the_path() {
    let target = Target::parse("ws://127.0.0.1:9001/rooms/3", 1024).unwrap();
    let text = request(&target, "k");
    assert!(text.starts_with("GET /rooms/3 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n"));
    assert!(text.contains(&format!("\r\nSec-WebSocket-Extensions: {OFFER}\r\n")));
    assert!(text.ends_with("\r\n\r\n"));
  }
}
