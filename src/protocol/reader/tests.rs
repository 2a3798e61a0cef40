//! The reader against frames as clients send them: ordering, every protocol rule, limits,
//! UTF-8 and compression.

use super::*;
use crate::protocol::deflate::{compress_pooled, DeflateSettings};

/// A client frame: masked with a fixed key.
fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
  let mask = [1, 2, 3, 4];
  let mut out = vec![b0];
  match payload.len() {
    n if n < 126 => out.push(0x80 | n as u8),
    n if n < 65536 => {
      out.push(0x80 | 126);
      out.extend_from_slice(&(n as u16).to_be_bytes());
    }
    n => {
      out.push(0x80 | 127);
      out.extend_from_slice(&(n as u64).to_be_bytes());
    }
  }
  out.extend_from_slice(&mask);
  out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
  out
}

fn reader(inflation: Option<Inflation>) -> Reader {
  Reader::new(Vec::new(), 1 << 20, 1 << 20, inflation)
}

/// Feeds `bytes` one at a time and collects what comes out, or the failure's close code.
fn read_all(r: &mut Reader, bytes: &[u8]) -> Result<Vec<String>, u16> {
  let mut out = Vec::new();
  for b in bytes {
    r.input().extend_from_slice(&[*b]);
    while r.step().map_err(|f| f.close_code)? {
      out.push(match r.incoming() {
        Incoming::Message(Inbound::Text(t)) => format!("text:{t}"),
        Incoming::Message(Inbound::Binary(b)) => format!("binary:{}", b.len()),
        Incoming::Message(Inbound::Ping(p)) => format!("ping:{}", p.len()),
        Incoming::Message(Inbound::Pong(p)) => format!("pong:{}", p.len()),
        Incoming::Close(code, reason) => format!("close:{code}:{reason}"),
      });
    }
  }
  Ok(out)
}

#[test]
fn fragments_with_an_interleaved_ping_assemble_in_order() {
  let mut bytes = frame(0x01, b"hel");
  bytes.extend(frame(0x89, b"p"));
  bytes.extend(frame(0x80, b"lo"));
  bytes.extend(frame(0x88, &[0x03, 0xe8, b'b', b'y', b'e']));
  assert_eq!(
    read_all(&mut reader(None), &bytes).unwrap(),
    ["ping:1", "text:hello", "close:1000:bye"]
  );
}

#[test]
fn large_frames_unmask_in_place() {
  let payload: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
  let mut r = reader(None);
  r.input().extend_from_slice(&frame(0x82, &payload));
  assert!(r.step().unwrap());
  assert_eq!(r.incoming(), Incoming::Message(Inbound::Binary(&payload)));
  assert!(!r.step().unwrap());
  assert_eq!(r.input.capacity(), 0, "an idle reader holds no buffer");
}

#[test]
fn protocol_violations_get_their_close_codes() {
  let cases: [(&[u8], u16); 9] = [
    (&[0x81, 0x00], 1002),                                        // unmasked
    (&[0xc1, 0x80, 0, 0, 0, 0], 1002),                            // RSV1 without deflate
    (&[0xa1, 0x80, 0, 0, 0, 0], 1002),                            // RSV2
    (&[0x83, 0x80, 0, 0, 0, 0], 1002),                            // reserved opcode
    (&[0x80, 0x80, 0, 0, 0, 0], 1002), // continuation with nothing to continue
    (&[0x09, 0x80, 0, 0, 0, 0], 1002), // fragmented ping
    (&[0x89, 0xfe, 0, 126, 0, 0, 0, 0], 1002), // ping of 126 bytes
    (&[0x88, 0x81, 0, 0, 0, 0, 1], 1002), // close payload of one byte
    (&[0x82, 0xff, 0, 0, 0, 0, 0, 0x20, 0, 1, 0, 0, 0, 0], 1009), // larger than max_payload
  ];
  for (bytes, code) in cases {
    assert_eq!(read_all(&mut reader(None), bytes), Err(code), "{bytes:x?}");
  }
}

#[test]
fn close_codes_and_reasons_are_checked() {
  assert_eq!(
    read_all(&mut reader(None), &frame(0x88, &[0x03, 0xed])),
    Err(1002)
  );
  assert_eq!(
    read_all(&mut reader(None), &frame(0x88, &[0x03, 0xe8, 0xff])),
    Err(1007)
  );
  assert_eq!(
    read_all(&mut reader(None), &frame(0x88, b"")).unwrap(),
    ["close:1005:"]
  );
}

#[test]
fn invalid_utf8_fails_at_the_fragment_that_carries_it() {
  let mut r = reader(None);
  let mut bytes = frame(0x01, "caf".as_bytes());
  bytes.extend(frame(0x00, &[0xc3]));
  assert_eq!(read_all(&mut r, &bytes).unwrap(), Vec::<String>::new());
  assert_eq!(
    read_all(&mut r, &frame(0x80, &[0xa9])).unwrap(),
    ["text:café"]
  );
  let mut bytes = frame(0x01, b"ok");
  bytes.extend(frame(0x00, &[0xff]));
  assert_eq!(read_all(&mut reader(None), &bytes), Err(1007));
  assert_eq!(
    read_all(&mut reader(None), &frame(0x81, &[0xc3])),
    Err(1007)
  );
}

#[test]
fn a_new_message_inside_a_fragmented_one_is_refused() {
  let mut bytes = frame(0x01, b"a");
  bytes.extend(frame(0x81, b"b"));
  assert_eq!(read_all(&mut reader(None), &bytes), Err(1002));
}

const SETTINGS: DeflateSettings = DeflateSettings {
  level: 6,
  mem_level: 8,
  window_bits: 15,
};

#[test]
fn compressed_messages_inflate_whole_or_fragmented() {
  let text = "compress me, compress me, compress me";
  let wire = compress_pooled(SETTINGS, text.as_bytes());
  let mut bytes = frame(0xc1, &wire);
  let (a, b) = wire.split_at(5);
  bytes.extend(frame(0x41, a));
  bytes.extend(frame(0x80, b));
  let mut r = reader(Some(Inflation::Pooled));
  let expected = format!("text:{text}");
  assert_eq!(
    read_all(&mut r, &bytes).unwrap(),
    [expected.clone(), expected]
  );
}

#[test]
fn a_compression_bomb_closes_with_1009() {
  let bomb = compress_pooled(SETTINGS, &vec![b'a'; 64 << 20]);
  assert!(bomb.len() < 128 << 10);
  let mut r = reader(Some(Inflation::Pooled));
  r.input().extend_from_slice(&frame(0xc2, &bomb));
  assert_eq!(r.step().map_err(|f| f.close_code), Err(1009));
  assert!(r.data.capacity() <= (1 << 20) + 1);
}

#[test]
fn rsv1_on_a_continuation_or_bad_deflate_data_fails() {
  let mut bytes = frame(0x41, b"x");
  bytes.extend(frame(0xc0, b"y"));
  assert_eq!(
    read_all(&mut reader(Some(Inflation::Pooled)), &bytes),
    Err(1002)
  );
  assert_eq!(
    read_all(
      &mut reader(Some(Inflation::Pooled)),
      &frame(0xc2, &[0xff; 8])
    ),
    Err(1007)
  );
}

#[test]
fn a_header_reserves_room_a_step_at_a_time_not_the_frame_it_announces() {
  let mut r = Reader::new(Vec::new(), 1 << 30, 1 << 30, None);
  // A 100 MiB binary frame's header and its mask, with one byte of payload.
  let mut head = vec![0x82, 0x80 | 127];
  head.extend_from_slice(&(100u64 << 20).to_be_bytes());
  head.extend_from_slice(&[1, 2, 3, 4, 0]);
  r.input().extend_from_slice(&head);
  assert_eq!(r.step().map_err(|f| f.close_code), Ok(false));
  assert!(r.input().capacity() <= head.len() + RESERVE_STEP);
}
