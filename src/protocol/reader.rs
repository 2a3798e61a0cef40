//! Client-to-server frames assembled into messages (RFC 6455 §5, RFC 7692 §6): bytes in,
//! messages out, every rule of the protocol checked as early as the bytes allow.
//!
//! The reader owns the connection's input buffer. A message that arrives in one frame is handed
//! out in place (unmasked where it lies); only fragmented and compressed messages are assembled
//! into a second buffer. Both are released once empty, so an idle connection holds no buffer.
//! Limits are checked on frame headers, before their payload is read, and while inflating, so a
//! peer never makes the server hold more than `max_payload` (plus one frame) for a message.

use bytes::{Buf, BytesMut};

/// The most room reserved ahead of a frame's arriving bytes.
const RESERVE_STEP: usize = 1 << 20;

use crate::protocol::client_frame::{
  header, protocol, unmask, Header, BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT,
};
use crate::protocol::deflate::{Decompressor, InflateError, Pooled};
use crate::protocol::failure::{ErrorCode, Failure};
use crate::protocol::frame::is_valid_close_code;

/// A payload a connection received, for JavaScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound<'a> {
  Text(&'a str),
  Binary(&'a [u8]),
  Ping(&'a [u8]),
  Pong(&'a [u8]),
}

impl Inbound<'_> {
  /// The payload's size in bytes.
  pub fn size(&self) -> usize {
    match self {
      Inbound::Text(text) => text.len(),
      Inbound::Binary(data) | Inbound::Ping(data) | Inbound::Pong(data) => data.len(),
    }
  }
}

/// What one step of the reader produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
  Message(Inbound<'a>),
  /// The peer's close frame: its code (1005 when it had none) and reason.
  Close(u16, &'a str),
}

/// How compressed messages (RSV1 set) are inflated, once permessage-deflate is agreed.
pub enum Inflation {
  /// The peer compresses every message from an empty window: a pooled decompressor serves
  /// each message and goes back.
  Pooled,
  /// The peer keeps its window across messages: so does this connection's own decompressor.
  Own(Box<Decompressor>),
}

/// A fragmented or compressed data message being assembled in `Reader::data`.
struct Partial {
  text: bool,
  compressed: bool,
  /// The prefix of `data` known to be valid UTF-8 (text only): checked frame by frame, so
  /// invalid text fails before the message ends.
  checked: usize,
  pooled: Option<Pooled>,
}

/// What `next` handed out, released at the following call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ready {
  Nothing,
  /// A frame's payload in place: `input[start..end]`, then `end` bytes to drop.
  InPlace {
    opcode: u8,
    start: usize,
    end: usize,
  },
  /// The message assembled in `data`.
  Assembled {
    text: bool,
  },
}

pub struct Reader {
  input: BytesMut,
  data: Vec<u8>,
  partial: Option<Partial>,
  ready: Ready,
  inflation: Option<Inflation>,
  max_frame: usize,
  max_payload: usize,
}

fn too_large() -> Failure {
  Failure::new(
    1009,
    ErrorCode::UnsupportedMessageLength,
    "Max payload size exceeded",
  )
}

fn invalid_utf8() -> Failure {
  Failure::new(
    1007,
    ErrorCode::InvalidUtf8,
    "Invalid WebSocket frame: invalid UTF-8 sequence",
  )
}

/// Text `step` has already checked (a text frame, an assembled text message, a close reason):
/// checking it again on the way out would cost every text message a second pass.
fn validated(bytes: &[u8]) -> &str {
  debug_assert!(std::str::from_utf8(bytes).is_ok());
  // SAFETY: `step` sets `ready` to a text payload or a close frame only once its bytes passed
  // `from_utf8` (`check_utf8` for assembled messages, `check_close` for close reasons), and
  // nothing changes them before the next `step`.
  unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// Checks the bytes of `data` past `checked`; returns the new valid prefix (an incomplete
/// character at the end may still be completed by the next frame).
fn check_utf8(data: &[u8], checked: usize) -> Result<usize, Failure> {
  match std::str::from_utf8(&data[checked..]) {
    Ok(_) => Ok(data.len()),
    Err(e) if e.error_len().is_none() => Ok(checked + e.valid_up_to()),
    Err(_) => Err(invalid_utf8()),
  }
}

impl Reader {
  /// A reader over `head` (bytes read past the request); `inflation` when permessage-deflate was
  /// agreed.
  pub fn new(
    head: Vec<u8>,
    max_frame: usize,
    max_payload: usize,
    inflation: Option<Inflation>,
  ) -> Self {
    Reader {
      input: BytesMut::from(&head[..]),
      data: Vec::new(),
      partial: None,
      ready: Ready::Nothing,
      inflation,
      max_frame,
      max_payload,
    }
  }

  /// The buffer socket reads append to.
  pub fn input(&mut self) -> &mut BytesMut {
    &mut self.input
  }

  /// Drops what the last step handed out, releasing emptied buffers.
  fn release(&mut self) {
    match std::mem::replace(&mut self.ready, Ready::Nothing) {
      Ready::InPlace { end, .. } => self.input.advance(end),
      Ready::Assembled { .. } => self.data = Vec::new(),
      Ready::Nothing => {}
    }
    if self.input.is_empty() && self.input.capacity() > 0 {
      self.input = BytesMut::new();
    }
  }

  /// Processes buffered frames until one yields a message, a ping, a pong or a close (true: read
  /// it with `incoming`) or more bytes are needed (false). An error fails the connection.
  pub fn step(&mut self) -> Result<bool, Failure> {
    self.release();
    loop {
      let Some(h) = header(&self.input)? else {
        return Ok(false);
      };
      self.check(&h)?;
      let end = h.len + h.payload as usize;
      if self.input.len() < end {
        // Room for the rest of the frame, a step at a time: the reads fill it directly, and
        // a header announcing a large frame reserves no more than what has arrived justifies.
        self
          .input
          .reserve((end - self.input.len()).min(RESERVE_STEP));
        return Ok(false);
      }
      unmask(&mut self.input[h.len..end], h.mask);
      let in_place = Ready::InPlace {
        opcode: h.opcode,
        start: h.len,
        end,
      };
      match h.opcode {
        CLOSE | PING | PONG => {
          if h.opcode == CLOSE {
            self.check_close(&self.input[h.len..end])?;
          }
          self.ready = in_place;
          return Ok(true);
        }
        TEXT | BINARY if h.fin && !h.rsv1 => {
          if h.opcode == TEXT && std::str::from_utf8(&self.input[h.len..end]).is_err() {
            return Err(invalid_utf8());
          }
          self.ready = in_place;
          return Ok(true);
        }
        _ => {
          if h.opcode != CONTINUATION {
            self.partial = Some(Partial {
              text: h.opcode == TEXT,
              compressed: h.rsv1,
              checked: 0,
              pooled: None,
            });
          }
          let partial = self.partial.as_mut().expect("checked by `check`");
          let appended = append(
            partial,
            self.inflation.as_mut(),
            &mut self.data,
            &self.input[h.len..end],
            h.fin,
            self.max_payload,
          );
          self.input.advance(end);
          appended?;
          if h.fin {
            let partial = self.partial.take().expect("checked by `check`");
            self.ready = Ready::Assembled { text: partial.text };
            return Ok(true);
          }
        }
      }
    }
  }

  /// The message, ping, pong or close the last `step` found.
  pub fn incoming(&self) -> Incoming<'_> {
    match self.ready {
      Ready::InPlace { opcode, start, end } => {
        let payload = &self.input[start..end];
        match opcode {
          TEXT => Incoming::Message(Inbound::Text(validated(payload))),
          BINARY => Incoming::Message(Inbound::Binary(payload)),
          PING => Incoming::Message(Inbound::Ping(payload)),
          PONG => Incoming::Message(Inbound::Pong(payload)),
          _ => match payload {
            [] => Incoming::Close(1005, ""),
            [hi, lo, reason @ ..] => {
              Incoming::Close(u16::from_be_bytes([*hi, *lo]), validated(reason))
            }
            [_] => unreachable!("refused by `check_close`"),
          },
        }
      }
      Ready::Assembled { text: true } => Incoming::Message(Inbound::Text(validated(&self.data))),
      Ready::Assembled { text: false } => Incoming::Message(Inbound::Binary(&self.data)),
      Ready::Nothing => unreachable!("`incoming` follows a `step` that returned true"),
    }
  }

  /// The rules a frame header must follow, checked before its payload is read.
  fn check(&self, h: &Header) -> Result<(), Failure> {
    let control = h.opcode & 0x8 != 0;
    match h.opcode {
      CONTINUATION if self.partial.is_none() => {
        return Err(protocol(ErrorCode::InvalidOpcode, "invalid opcode 0"))
      }
      TEXT | BINARY if self.partial.is_some() => {
        return Err(protocol(
          ErrorCode::InvalidOpcode,
          &format!("invalid opcode {} inside a fragmented message", h.opcode),
        ))
      }
      CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG => {}
      other => {
        return Err(protocol(
          ErrorCode::InvalidOpcode,
          &format!("invalid opcode {other}"),
        ))
      }
    }
    if h.rsv1 && (self.inflation.is_none() || control || h.opcode == CONTINUATION) {
      return Err(protocol(ErrorCode::UnexpectedRsv1, "RSV1 must be clear"));
    }
    if control {
      if !h.fin {
        return Err(protocol(ErrorCode::ExpectedFin, "FIN must be set"));
      }
      if h.payload > 125 {
        return Err(protocol(
          ErrorCode::InvalidControlPayloadLength,
          &format!("invalid payload length {}", h.payload),
        ));
      }
      return Ok(());
    }
    let compressed = h.rsv1 || self.partial.as_ref().is_some_and(|p| p.compressed);
    let so_far = if compressed {
      0
    } else {
      self.data.len() as u64
    };
    if h.payload > self.max_frame as u64 {
      return Err(Failure::new(
        1009,
        ErrorCode::UnsupportedMessageLength,
        format!("Frame of {} bytes exceeds the frame size limit", h.payload),
      ));
    }
    if so_far + h.payload > self.max_payload as u64 {
      return Err(too_large());
    }
    Ok(())
  }

  fn check_close(&self, payload: &[u8]) -> Result<(), Failure> {
    match payload {
      [] => Ok(()),
      [_] => Err(protocol(
        ErrorCode::InvalidControlPayloadLength,
        "invalid payload length 1",
      )),
      [hi, lo, reason @ ..] => {
        let code = u16::from_be_bytes([*hi, *lo]);
        if !is_valid_close_code(u32::from(code)) {
          return Err(protocol(
            ErrorCode::InvalidCloseCode,
            &format!("invalid status code {code}"),
          ));
        }
        std::str::from_utf8(reason).map_err(|_| invalid_utf8())?;
        Ok(())
      }
    }
  }
}

/// Adds one frame's payload to the message being assembled, inflating it if compressed.
fn append(
  partial: &mut Partial,
  inflation: Option<&mut Inflation>,
  data: &mut Vec<u8>,
  payload: &[u8],
  last: bool,
  max_payload: usize,
) -> Result<(), Failure> {
  if partial.compressed {
    let decompressor = match inflation.expect("checked by `check`") {
      Inflation::Own(own) => &mut **own,
      Inflation::Pooled => partial.pooled.get_or_insert_with(Pooled::take).get(),
    };
    decompressor
      .inflate(payload, last, data, max_payload)
      .map_err(|e| match e {
        InflateError::TooLarge => too_large(),
        InflateError::Corrupt => {
          Failure::new(1007, ErrorCode::CompressedData, "invalid compressed data")
        }
      })?;
    if last {
      partial.pooled = None;
    }
  } else {
    data.extend_from_slice(payload);
  }
  if partial.text {
    partial.checked = check_utf8(data, partial.checked)?;
    if last && partial.checked != data.len() {
      return Err(invalid_utf8());
    }
  }
  Ok(())
}

#[cfg(test)]
mod tests;
