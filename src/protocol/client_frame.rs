//! A client frame's header (RFC 6455 §5.2), parsed as soon as its bytes are in so that its
//! rules and limits are checked before the payload is read, and the unmasking of its payload.

use crate::protocol::failure::{ErrorCode, Failure};

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// A protocol violation (1002) with `ws`'s wording.
pub fn protocol(code: ErrorCode, message: &str) -> Failure {
  Failure::new(1002, code, format!("Invalid WebSocket frame: {message}"))
}

/// A frame header: its length on the wire, and what it says.
pub struct Header {
  pub len: usize,
  pub fin: bool,
  pub rsv1: bool,
  pub opcode: u8,
  pub mask: [u8; 4],
  pub payload: u64,
}

/// Parses a frame header from the start of `input`; None until it is complete.
pub fn header(input: &[u8]) -> Result<Option<Header>, Failure> {
  let [b0, b1, ..] = *input else {
    return Ok(None);
  };
  if b0 & 0x30 != 0 {
    return Err(protocol(
      ErrorCode::UnexpectedRsv23,
      "RSV2 and RSV3 must be clear",
    ));
  }
  if b1 & 0x80 == 0 {
    return Err(protocol(ErrorCode::ExpectedMask, "MASK must be set"));
  }
  let (extended, len) = match b1 & 0x7f {
    126 => (2, 4),
    127 => (8, 10),
    _ => (0, 2),
  };
  if input.len() < len + 4 {
    return Ok(None);
  }
  let payload = match extended {
    2 => u64::from(u16::from_be_bytes([input[2], input[3]])),
    8 => {
      let n = u64::from_be_bytes(input[2..10].try_into().expect("8 bytes"));
      if n >> 63 != 0 {
        return Err(Failure::new(
          1009,
          ErrorCode::UnsupportedMessageLength,
          "Unsupported WebSocket frame: payload length > 2^63 - 1",
        ));
      }
      n
    }
    _ => u64::from(b1 & 0x7f),
  };
  Ok(Some(Header {
    len: len + 4,
    fin: b0 & 0x80 != 0,
    rsv1: b0 & 0x40 != 0,
    opcode: b0 & 0x0f,
    mask: input[len..len + 4].try_into().expect("4 bytes"),
    payload,
  }))
}

/// XORs `data` with the frame's masking key (RFC 6455 §5.3), eight bytes at a time.
pub fn unmask(data: &mut [u8], mask: [u8; 4]) {
  let key = u64::from_ne_bytes([
    mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
  ]);
  let mut chunks = data.chunks_exact_mut(8);
  for chunk in &mut chunks {
    let word = u64::from_ne_bytes((&*chunk).try_into().expect("8 bytes")) ^ key;
    chunk.copy_from_slice(&word.to_ne_bytes());
  }
  for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
    *byte ^= mask[i % 4];
  }
}
