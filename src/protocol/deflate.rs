//! permessage-deflate's codec (RFC 7692 §7.2): raw DEFLATE, each message ended by a sync flush
//! whose 4-byte tail is left off the wire.
//!
//! Without context takeover every message starts from an empty window, so its compressor or
//! decompressor is only needed while that one message is processed: contexts are then borrowed
//! from a small per-thread pool (`Pooled`), and an idle connection holds no zlib state at all.
//! With context takeover the connection owns its context for its whole life.

use std::cell::RefCell;
use std::mem::MaybeUninit;

use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Inflate, InflateFlush, Status};

/// The end of a sync flush; the sender strips it, the receiver appends it again.
const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// Contexts kept per thread and settings: enough for the messages one thread has in progress at
/// once (normally one), few enough that the pool stays small.
const POOL_SIZE: usize = 4;

/// How outgoing messages are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeflateSettings {
  /// zlib's level, 0 (store) to 9 (smallest).
  pub level: u8,
  /// zlib's memLevel, 1 to 9: the size of its match index (2^(memLevel + 9) bytes).
  pub mem_level: u8,
  /// The window, 2^bits bytes (9 to 15).
  pub window_bits: u8,
}

impl DeflateSettings {
  fn config(self) -> DeflateConfig {
    DeflateConfig {
      level: i32::from(self.level),
      mem_level: i32::from(self.mem_level),
      // Negative: raw DEFLATE, no zlib header.
      window_bits: -i32::from(self.window_bits),
      ..DeflateConfig::default()
    }
  }
}

/// One message could not be inflated.
#[derive(Debug, PartialEq, Eq)]
pub enum InflateError {
  /// The inflated message would exceed the limit.
  TooLarge,
  /// The compressed data is not valid DEFLATE.
  Corrupt,
}

/// A compression context.
pub struct Compressor {
  inner: Deflate,
  settings: DeflateSettings,
}

impl Compressor {
  pub fn new(settings: DeflateSettings) -> Self {
    Compressor {
      inner: Deflate::new_with_config(settings.config()),
      settings,
    }
  }

  /// Compresses one message into its payload on the wire. The window is kept for the next
  /// message; `reset` it for no context takeover.
  pub fn compress(&mut self, payload: &[u8]) -> Vec<u8> {
    // Compressible payloads shrink; the reserve grows if this one does not.
    let mut out = Vec::with_capacity(payload.len() / 2 + 64);
    let mut consumed = 0;
    loop {
      if out.capacity() - out.len() < 64 {
        out.reserve(out.capacity().max(64));
      }
      let (before_in, before_out) = (self.inner.total_in(), self.inner.total_out());
      let spare = out.spare_capacity_mut();
      let room = spare.len();
      // A sync flush of a valid stream with output room cannot fail.
      let _ = self
        .inner
        .compress_uninit(&payload[consumed..], spare, DeflateFlush::SyncFlush);
      let produced = (self.inner.total_out() - before_out) as usize;
      // SAFETY: zlib initialized the `produced` bytes it wrote into the spare capacity.
      unsafe { out.set_len(out.len() + produced) };
      consumed += (self.inner.total_in() - before_in) as usize;
      // The flush is complete once all input is taken and zlib left output room unused.
      if consumed == payload.len() && produced < room {
        break;
      }
    }
    if out.ends_with(&TAIL) {
      out.truncate(out.len() - TAIL.len());
    }
    if out.is_empty() {
      // An empty message right after another flush: zlib writes nothing, but the payload must
      // be the one byte of an empty stored block (RFC 7692 §7.2.3.6), which the tail completes.
      out.push(0);
    }
    out
  }

  pub fn reset(&mut self) {
    self.inner.reset();
  }
}

/// A decompression context.
pub struct Decompressor {
  /// zlib's state, made at the first compressed message: a connection whose peer never
  /// compresses one holds none (as `ws` makes its inflater on first use).
  inner: Option<Inflate>,
  window_bits: u8,
  /// The peer ended its DEFLATE stream (BFINAL) in the message being read: the rest of the
  /// message, flush tail included, is not data, and the next message starts a new stream.
  ended: bool,
}

impl Decompressor {
  /// `window_bits`: the largest window the peer may use (9 to 15).
  pub fn new(window_bits: u8) -> Self {
    Decompressor {
      inner: None,
      window_bits,
      ended: false,
    }
  }

  /// Inflates one frame's payload of a compressed message into `out`, which may hold at most
  /// `limit` bytes; `last` appends the flush tail that ends the message.
  pub fn inflate(
    &mut self,
    input: &[u8],
    last: bool,
    out: &mut Vec<u8>,
    limit: usize,
  ) -> Result<(), InflateError> {
    self.feed(input, out, limit)?;
    if last {
      self.feed(&TAIL, out, limit)?;
      self.ended = false;
    }
    Ok(())
  }

  fn feed(&mut self, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
    if self.ended {
      return Ok(());
    }
    let window_bits = self.window_bits;
    let inner = self
      .inner
      .get_or_insert_with(|| Inflate::new(false, window_bits));
    let mut consumed = 0;
    loop {
      if out.len() == out.capacity() {
        // Grow by what this input may reasonably produce, never past the limit (plus the one
        // byte that proves it exceeded): a bomb costs the server `limit`, not its inflated size.
        let want = (input.len() * 4).clamp(1024, 256 << 10);
        let room = (limit + 1).saturating_sub(out.len()).min(want);
        if room == 0 {
          return Err(InflateError::TooLarge);
        }
        out.reserve_exact(room);
      }
      let (before_in, before_out) = (inner.total_in(), inner.total_out());
      let spare: &mut [MaybeUninit<u8>] = out.spare_capacity_mut();
      let room = spare.len();
      let status = inner
        .decompress_uninit(&input[consumed..], spare, InflateFlush::SyncFlush)
        .map_err(|_| InflateError::Corrupt)?;
      let produced = (inner.total_out() - before_out) as usize;
      // SAFETY: zlib initialized the `produced` bytes it wrote into the spare capacity.
      unsafe { out.set_len(out.len() + produced) };
      let taken = (inner.total_in() - before_in) as usize;
      consumed += taken;
      if out.len() > limit {
        return Err(InflateError::TooLarge);
      }
      if status == Status::StreamEnd {
        inner.reset(false);
        self.ended = true;
        return Ok(());
      }
      if (consumed == input.len() && produced < room) || (taken == 0 && produced == 0) {
        return Ok(());
      }
    }
  }

  pub fn reset(&mut self) {
    if let Some(inner) = &mut self.inner {
      inner.reset(false);
    }
    self.ended = false;
  }
}

thread_local! {
  static COMPRESSORS: RefCell<Vec<Compressor>> = const { RefCell::new(Vec::new()) };
  // Boxed in the pool too: a `Pooled` holds the box itself, so taking one allocates nothing.
  #[allow(clippy::vec_box)]
  static DECOMPRESSORS: RefCell<Vec<Box<Decompressor>>> = const { RefCell::new(Vec::new()) };
}

/// Compresses one message with a context borrowed from this thread's pool (no context
/// takeover: the context is reset before it goes back).
pub fn compress_pooled(settings: DeflateSettings, payload: &[u8]) -> Vec<u8> {
  let mut compressor = COMPRESSORS
    .with_borrow_mut(|pool| {
      let at = pool.iter().position(|c| c.settings == settings)?;
      Some(pool.swap_remove(at))
    })
    .unwrap_or_else(|| Compressor::new(settings));
  let out = compressor.compress(payload);
  compressor.reset();
  COMPRESSORS.with_borrow_mut(|pool| {
    if pool.len() < POOL_SIZE {
      pool.push(compressor);
    }
  });
  out
}

/// A decompressor borrowed from this thread's pool for one message (the peer compresses
/// without context takeover). It may travel to another thread with its task; it returns to the
/// pool of whichever thread drops it, reset.
pub struct Pooled(Option<Box<Decompressor>>);

impl Pooled {
  pub fn take() -> Self {
    let found = DECOMPRESSORS.with_borrow_mut(|pool| pool.pop());
    // Pooled decompressors take the largest window: any peer's message fits it.
    Pooled(Some(
      found.unwrap_or_else(|| Box::new(Decompressor::new(15))),
    ))
  }

  pub fn get(&mut self) -> &mut Decompressor {
    self.0.as_mut().expect("present until dropped")
  }
}

impl Drop for Pooled {
  fn drop(&mut self) {
    if let Some(mut d) = self.0.take() {
      d.reset();
      DECOMPRESSORS.with_borrow_mut(|pool| {
        if pool.len() < POOL_SIZE {
          pool.push(d);
        }
      });
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const SETTINGS: DeflateSettings = DeflateSettings {
    level: 6,
    mem_level: 8,
    window_bits: 15,
  };

  fn inflate_all(d: &mut Decompressor, wire: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    d.inflate(wire, true, &mut out, limit)?;
    Ok(out)
  }

  #[test]
  fn a_message_round_trips_without_the_flush_tail() {
    let text = b"{\"user\":\"ada\",\"text\":\"hello hello hello hello\"}".repeat(20);
    let wire = compress_pooled(SETTINGS, &text);
    assert!(wire.len() < text.len() / 4);
    assert!(!wire.ends_with(&TAIL));
    let mut d = Decompressor::new(15);
    assert_eq!(inflate_all(&mut d, &wire, 1 << 20).unwrap(), text);
  }

  #[test]
  fn rfc_7692_example_hello_inflates() {
    // RFC 7692 §7.2.3.1: "Hello" compressed in one frame.
    let mut d = Decompressor::new(15);
    let wire = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(inflate_all(&mut d, &wire, 100).unwrap(), b"Hello");
  }

  #[test]
  fn context_takeover_shrinks_a_repeated_message() {
    let text = b"the same sentence, over and over again".repeat(4);
    let mut c = Compressor::new(SETTINGS);
    let first = c.compress(&text);
    let second = c.compress(&text);
    assert!(second.len() < first.len());
    let mut d = Decompressor::new(15);
    assert_eq!(inflate_all(&mut d, &first, 1 << 20).unwrap(), text);
    assert_eq!(inflate_all(&mut d, &second, 1 << 20).unwrap(), text);
  }

  #[test]
  fn a_bomb_stops_at_the_limit() {
    let bomb = compress_pooled(SETTINGS, &vec![b'a'; 8 << 20]);
    let mut d = Decompressor::new(15);
    let mut out = Vec::new();
    assert_eq!(
      d.inflate(&bomb, true, &mut out, 1 << 20),
      Err(InflateError::TooLarge)
    );
    assert!(out.capacity() <= (1 << 20) + 1, "{}", out.capacity());
  }

  #[test]
  fn garbage_is_refused() {
    let mut d = Decompressor::new(15);
    assert_eq!(
      inflate_all(&mut d, &[0xff; 16], 1 << 20),
      Err(InflateError::Corrupt)
    );
  }

  #[test]
  fn incompressible_data_and_empty_messages_round_trip() {
    let noise: Vec<u8> = (0..100_000u32)
      .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
      .collect();
    for payload in [&noise[..], b""] {
      let wire = compress_pooled(SETTINGS, payload);
      let mut d = Pooled::take();
      assert_eq!(inflate_all(d.get(), &wire, 1 << 20).unwrap(), payload);
    }
  }

  #[test]
  fn a_message_ended_with_bfinal_leaves_the_next_one_intact() {
    // Two messages from a peer that keeps its window: the first ends its DEFLATE stream
    // (zlib's Z_FINISH), as RFC 7692 §7.2.3.4 allows; the second starts a new one.
    let finish = |text: &[u8]| {
      let mut deflate = Deflate::new_with_config(SETTINGS.config());
      let mut out = vec![0; 256];
      let _ = deflate.compress(text, &mut out, DeflateFlush::Finish);
      out.truncate(deflate.total_out() as usize);
      out
    };
    let mut d = Decompressor::new(15);
    assert_eq!(
      inflate_all(&mut d, &finish(b"first"), 100).unwrap(),
      b"first"
    );
    let second = compress_pooled(SETTINGS, b"second");
    assert_eq!(inflate_all(&mut d, &second, 100).unwrap(), b"second");
  }

  #[test]
  fn an_empty_message_after_another_keeps_the_stream_in_step() {
    let mut c = Compressor::new(SETTINGS);
    let mut d = Decompressor::new(15);
    for text in [&b"hello"[..], b"", b"", b"world"] {
      let wire = c.compress(text);
      assert!(!wire.is_empty(), "RFC 7692 §7.2.3.6: at least one byte");
      assert_eq!(inflate_all(&mut d, &wire, 100).unwrap(), text);
    }
  }

  #[test]
  fn a_message_inflates_frame_by_frame() {
    let text = b"fragmented and compressed ".repeat(100);
    let wire = compress_pooled(SETTINGS, &text);
    let mut d = Decompressor::new(15);
    let mut out = Vec::new();
    let (a, b) = wire.split_at(wire.len() / 2);
    d.inflate(a, false, &mut out, 1 << 20).unwrap();
    d.inflate(b, true, &mut out, 1 << 20).unwrap();
    assert_eq!(out, text);
  }
}
