//! What `--deflate` runs send: JSON-like payloads, compressed and framed before the run, so
//! every message a run sends is a copy of bytes built in advance and the loadgen spends no CPU on
//! zlib while it measures. That is valid because the client offers `client_no_context_takeover`:
//! each message is compressed on its own, so the same input always gives the same output.
//!
//! A run cycles through variants of the payload (same shape, other values), so that no message
//! repeats within zlib's window: a server that keeps its context from one message to the next
//! (context takeover) gains what it gains on real traffic, shared keys and structure, not the
//! near-free compression of an exact repeat.

use crate::raw::{client_frame, BINARY, TEXT};
use bytes::Bytes;
use std::fmt::Write;
use zlib_rs::{Deflate, DeflateFlush};

/// zlib's default level: what a client compresses with when it does not choose.
const LEVEL: i32 = 6;
/// The end of a sync flush, which RFC 7692 §7.2.1 has the sender remove.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Bytes of traffic before a payload comes round again: twice DEFLATE's largest window (32 KiB).
const CYCLE: usize = 64 << 10;
/// At most this many variants, whatever the size (tiny messages repeat, and that is fine).
const MAX_VARIANTS: usize = 64;

/// `size` bytes of JSON-like ASCII text: chat records whose ids, names and words vary, so the
/// payload compresses the way application messages do (a few times), not the way a run of one
/// byte does (a thousand times). The last record is cut at `size`. Each `variant` has other
/// values in the same shape.
pub fn json_like(size: usize, variant: u32) -> Vec<u8> {
  const WORDS: [&str; 8] = [
    "hello", "deploy", "build", "green", "review", "merge", "lunch", "ticket",
  ];
  let mut out = String::with_capacity(size + 128);
  out.push('[');
  // A linear congruential generator: varied values, the same payload on every run.
  let mut seed = 0x2545_f491 ^ variant.wrapping_mul(0x9e37_79b9);
  let mut id = 1000 + variant * 100;
  while out.len() < size {
    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    let r = seed >> 8;
    let word = |shift: u32| WORDS[(r >> shift) as usize % WORDS.len()];
    let _ = write!(
      out,
      r#"{{"id":{id},"user":"user-{}","room":"room-{}","text":"{} {} {}","ts":{}}},"#,
      r % 97,
      r % 7,
      word(3),
      word(6),
      word(9),
      1_700_000_000_000u64 + u64::from(r % 100_000),
    );
    id += 1;
  }
  out.truncate(size);
  out.into_bytes()
}

/// One message's payload as it travels under permessage-deflate: raw DEFLATE ended by a sync
/// flush, without the flush's tail (RFC 7692 §7.2.1).
pub fn compress(payload: &[u8]) -> Vec<u8> {
  let mut deflate = Deflate::new(LEVEL, false, 15);
  // zlib's bound for input that does not compress, plus room for the flush.
  let mut out = vec![0; payload.len() + payload.len() / 8 + 64];
  deflate
    .compress(payload, &mut out, DeflateFlush::SyncFlush)
    .expect("a fresh stream compresses any input");
  let written = deflate.total_out() as usize;
  assert!(
    deflate.total_in() as usize == payload.len() && written < out.len(),
    "the output buffer holds the whole flush"
  );
  out.truncate(written);
  if out.ends_with(&TAIL) {
    out.truncate(written - TAIL.len());
  }
  out
}

/// The frames a `--deflate` client sends in turn: each `size` bytes of JSON-like text (binary
/// with `binary`), compressed, RSV1 set; enough variants to fill a CYCLE.
pub fn messages(size: usize, binary: bool) -> Vec<Bytes> {
  let opcode = if binary { BINARY } else { TEXT };
  let variants = CYCLE.div_ceil(size.max(1)).min(MAX_VARIANTS);
  (0..variants as u32)
    .map(|variant| {
      let payload = compress(&json_like(size, variant));
      Bytes::from(client_frame(opcode, true, &payload))
    })
    .collect()
}

#[cfg(test)]
mod tests {
  use super::*;
  use zlib_rs::{Inflate, InflateFlush};

  fn inflate(wire: &[u8], size: usize) -> Vec<u8> {
    let mut inflate = Inflate::new(false, 15);
    let input = [wire, &TAIL].concat();
    let mut out = vec![0; size + 64];
    inflate
      .decompress(&input, &mut out, InflateFlush::SyncFlush)
      .unwrap();
    out.truncate(inflate.total_out() as usize);
    out
  }

  #[test]
  fn the_payload_is_ascii_of_the_size_asked() {
    for size in [0, 1, 100, 1024, 4096] {
      let payload = json_like(size, 3);
      assert_eq!(payload.len(), size);
      assert!(payload.is_ascii());
    }
    assert_eq!(json_like(1024, 0), json_like(1024, 0));
    assert_ne!(json_like(1024, 0), json_like(1024, 1));
  }

  #[test]
  fn variants_span_twice_the_window() {
    assert_eq!(messages(1024, false).len(), 64);
    assert_eq!(messages(4096, false).len(), 16);
    assert_eq!(messages(100_000, true).len(), 1);
    let first = &messages(1024, false)[0];
    assert_eq!(first[0], 0xc1, "FIN, RSV1, text");
  }

  #[test]
  fn the_payload_compresses_like_text_not_like_one_repeated_byte() {
    let payload = json_like(1024, 0);
    let wire = compress(&payload);
    assert!(wire.len() * 2 < payload.len(), "{} bytes", wire.len());
    assert!(wire.len() * 10 > payload.len(), "{} bytes", wire.len());
    assert!(!wire.ends_with(&TAIL));
    assert_eq!(inflate(&wire, payload.len()), payload);
  }

  #[test]
  fn incompressible_input_fits_the_buffer() {
    let noise: Vec<u8> = (0..5000u32)
      .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
      .collect();
    assert_eq!(inflate(&compress(&noise), noise.len()), noise);
  }
}
