//! Server-to-client frames, encoded once so that a broadcast shares the same bytes.
//!
//! Server frames are never masked, so encoding is a header in front of the payload. The header
//! layout is tungstenite's (`FrameHeader::format`); only the allocation strategy is ours: one
//! buffer per message, sized up front, shareable as `Bytes`.

use std::mem::MaybeUninit;

use bytes::{BufMut, Bytes, BytesMut};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

/// What a message's payload is, as RFC 6455 opcodes name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
  Text,
  Binary,
  Ping,
  Pong,
  Close,
}

impl Kind {
  fn opcode(self) -> OpCode {
    match self {
      Kind::Text => OpCode::Data(Data::Text),
      Kind::Binary => OpCode::Data(Data::Binary),
      Kind::Ping => OpCode::Control(Control::Ping),
      Kind::Pong => OpCode::Control(Control::Pong),
      Kind::Close => OpCode::Control(Control::Close),
    }
  }
}

fn put_header(out: &mut BytesMut, opcode: OpCode, is_final: bool, rsv1: bool, len: usize) {
  let header = FrameHeader {
    is_final,
    rsv1,
    opcode,
    ..FrameHeader::default()
  };
  // Writing into a BytesMut cannot fail.
  let _ = header.format(len as u64, &mut out.writer());
}

/// Encodes one message as a single frame, or as fragments of at most `fragment` bytes when
/// `fragment` is non-zero and the payload is larger (control frames are never fragmented).
pub fn encode(kind: Kind, payload: &[u8], fragment: usize) -> Bytes {
  encode_frames(kind, payload, fragment, false)
}

/// Encodes a message compressed with permessage-deflate: RSV1 marks its first frame.
pub fn encode_compressed(kind: Kind, payload: &[u8], fragment: usize) -> Bytes {
  encode_frames(kind, payload, fragment, true)
}

fn encode_frames(kind: Kind, payload: &[u8], fragment: usize, compressed: bool) -> Bytes {
  let chunk = if fragment == 0 || matches!(kind, Kind::Ping | Kind::Pong | Kind::Close) {
    payload.len().max(1)
  } else {
    fragment
  };
  let frames = payload.len().div_ceil(chunk).max(1);
  let mut out = BytesMut::with_capacity(payload.len() + frames * 10);
  if payload.is_empty() {
    put_header(&mut out, kind.opcode(), true, compressed, 0);
    return out.freeze();
  }
  for (i, part) in payload.chunks(chunk).enumerate() {
    let opcode = if i == 0 {
      kind.opcode()
    } else {
      OpCode::Data(Data::Continue)
    };
    put_header(
      &mut out,
      opcode,
      i + 1 == frames,
      compressed && i == 0,
      part.len(),
    );
    out.put_slice(part);
  }
  out.freeze()
}

/// Encodes one unfragmented message whose `len` payload bytes `fill` writes in place, so a
/// JavaScript string becomes a frame with one copy. `fill` gets room for `len + 1` bytes (N-API
/// ends a string with a NUL) and returns how many payload bytes it wrote. None when it fails or
/// writes other than `len` bytes: the header already promises `len`.
pub fn encode_in_place(
  kind: Kind,
  len: usize,
  fill: impl FnOnce(&mut [MaybeUninit<u8>]) -> Option<usize>,
) -> Option<Bytes> {
  let mut out = BytesMut::with_capacity(len + 11);
  put_header(&mut out, kind.opcode(), true, false, len);
  let start = out.len();
  let written = fill(&mut out.spare_capacity_mut()[..len + 1])?;
  if written != len {
    return None;
  }
  // SAFETY: `fill` initialized the `len` bytes after the header.
  unsafe { out.set_len(start + len) };
  Some(out.freeze())
}

/// A close frame with `code` and `reason`; the reason is cut at a character boundary so the
/// payload stays within the 125 bytes a control frame may carry.
pub fn close(code: u16, reason: &str) -> Bytes {
  let mut payload = Vec::with_capacity(2 + reason.len().min(123));
  payload.extend_from_slice(&code.to_be_bytes());
  payload.extend_from_slice(truncate_utf8(reason, 123).as_bytes());
  encode(Kind::Close, &payload, 0)
}

fn truncate_utf8(s: &str, max: usize) -> &str {
  if s.len() <= max {
    return s;
  }
  let mut end = max;
  while !s.is_char_boundary(end) {
    end -= 1;
  }
  &s[..end]
}

/// Whether an application may send `code` in a close frame (RFC 6455 §7.4): 1000-1003,
/// 1007-1014 and the registered/private range 3000-4999.
pub fn is_valid_close_code(code: u32) -> bool {
  matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn in_place_encoding_matches_encode() {
    for len in [0usize, 5, 125, 126, 65536] {
      let payload = vec![b'a'; len];
      let frame = encode_in_place(Kind::Text, len, |spare| {
        for (slot, byte) in spare.iter_mut().zip(&payload) {
          slot.write(*byte);
        }
        Some(len)
      });
      assert_eq!(
        frame,
        Some(encode(Kind::Text, &payload, 0)),
        "payload of {len}"
      );
    }
  }

  #[test]
  fn in_place_encoding_refuses_a_payload_of_another_length() {
    assert_eq!(encode_in_place(Kind::Text, 3, |_| Some(2)), None);
    assert_eq!(encode_in_place(Kind::Text, 3, |_| None), None);
  }

  #[test]
  fn short_text_has_a_two_byte_header() {
    assert_eq!(&encode(Kind::Text, b"hi", 0)[..], &[0x81, 2, b'h', b'i']);
  }

  #[test]
  fn length_boundaries_pick_the_right_length_format() {
    for (len, header) in [(125usize, 2usize), (126, 4), (65535, 4), (65536, 10)] {
      let frame = encode(Kind::Binary, &vec![7; len], 0);
      assert_eq!(frame.len(), len + header, "payload of {len}");
      assert_eq!(frame[0], 0x82);
    }
  }

  #[test]
  fn empty_payload_is_one_final_frame() {
    assert_eq!(&encode(Kind::Binary, b"", 16)[..], &[0x82, 0]);
  }

  #[test]
  fn fragments_are_continuations_with_fin_on_the_last() {
    let frame = encode(Kind::Text, b"abcde", 2);
    assert_eq!(
      &frame[..],
      &[0x01, 2, b'a', b'b', 0x00, 2, b'c', b'd', 0x80, 1, b'e']
    );
  }

  #[test]
  fn a_compressed_message_marks_rsv1_on_its_first_fragment_only() {
    let frame = encode_compressed(Kind::Binary, b"abc", 2);
    assert_eq!(&frame[..], &[0x42, 2, b'a', b'b', 0x80, 1, b'c']);
  }

  #[test]
  fn control_frames_are_never_fragmented() {
    let frame = encode(Kind::Ping, b"abcdef", 2);
    assert_eq!(frame[0], 0x89);
    assert_eq!(frame.len(), 8);
  }

  #[test]
  fn close_reason_is_cut_on_a_character_boundary() {
    let reason = "é".repeat(100);
    let frame = close(1000, &reason);
    assert!(frame.len() - 2 <= 125);
    assert!(std::str::from_utf8(&frame[4..]).is_ok());
  }

  #[test]
  fn reserved_close_codes_are_refused() {
    for code in [0, 999, 1004, 1005, 1006, 1015, 2999, 5000] {
      assert!(!is_valid_close_code(code), "{code}");
    }
    for code in [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999] {
      assert!(is_valid_close_code(code), "{code}");
    }
  }
}

#[cfg(test)]
mod properties {
  use super::*;
  use proptest::prelude::*;
  use std::io::Cursor;
  use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

  /// Parses server frames back with tungstenite's own header parser.
  fn decode(mut bytes: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
      let mut cursor = Cursor::new(bytes);
      let (header, len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
      let start = cursor.position() as usize;
      let end = start + len as usize;
      frames.push((header, bytes[start..end].to_vec()));
      bytes = &bytes[end..];
    }
    frames
  }

  proptest! {
    #[test]
    fn encoded_messages_parse_back_to_the_same_payload(
      payload in proptest::collection::vec(any::<u8>(), 0..70_000),
      fragment in prop_oneof![Just(0usize), 1usize..20_000],
      binary in any::<bool>(),
    ) {
      let kind = if binary { Kind::Binary } else { Kind::Text };
      let frames = decode(&encode(kind, &payload, fragment));
      prop_assert!(frames.iter().all(|(h, _)| h.mask.is_none()));
      prop_assert!(frames.last().unwrap().0.is_final);
      prop_assert!(frames[..frames.len() - 1].iter().all(|(h, _)| !h.is_final));
      if fragment > 0 {
        prop_assert!(frames.iter().all(|(_, p)| p.len() <= fragment));
      }
      let joined: Vec<u8> = frames.into_iter().flat_map(|(_, p)| p).collect();
      prop_assert_eq!(joined, payload);
    }

    #[test]
    fn close_frames_stay_within_125_bytes_of_valid_utf8(code in 1000u16..5000, reason in ".{0,200}") {
      let frame = close(code, &reason);
      let frames = decode(&frame);
      let payload = &frames[0].1;
      prop_assert!(payload.len() <= 125);
      prop_assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
      let text = std::str::from_utf8(&payload[2..]).unwrap();
      prop_assert!(reason.starts_with(text));
    }
  }
}
