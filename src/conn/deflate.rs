//! Messages on their way out that may be compressed, and each connection's share of
//! permessage-deflate.
//!
//! Compression never runs on the JavaScript thread: a message to compress is queued as it is
//! (`Outgoing`) and the connection's writer, on an engine thread, compresses it when it takes
//! its queue. That keeps its place among the connection's other frames, and a message queued on
//! many connections (broadcast, publish, the same text sent in a loop) is compressed once for
//! all of them that share the server's settings without context takeover.

use std::sync::{Mutex, OnceLock};

use bytes::Bytes;

use crate::config::DeflateConfig;
use crate::protocol::deflate::{compress_pooled, Compressor, Decompressor, DeflateSettings};
use crate::protocol::extension::Agreed;
use crate::protocol::frame::{self, Kind};
use crate::protocol::reader::Inflation;

/// A data message, framed plain or compressed on demand, at most once each.
pub struct Outgoing {
  pub kind: Kind,
  pub payload: Bytes,
  plain: OnceLock<Bytes>,
  shared: OnceLock<Bytes>,
}

impl Outgoing {
  pub fn new(kind: Kind, payload: Bytes) -> Self {
    Outgoing {
      kind,
      payload,
      plain: OnceLock::new(),
      shared: OnceLock::new(),
    }
  }

  /// The message as one uncompressed frame (or fragments of `fragment` bytes).
  pub fn plain(&self, fragment: usize) -> Bytes {
    self
      .plain
      .get_or_init(|| frame::encode(self.kind, &self.payload, fragment))
      .clone()
  }

  fn compressed(&self, settings: DeflateSettings, fragment: usize) -> Bytes {
    let wire = compress_pooled(settings, &self.payload);
    frame::encode_compressed(self.kind, &wire, fragment)
  }
}

/// permessage-deflate as one connection agreed it.
pub struct ConnDeflate {
  pub agreed: Agreed,
  threshold: usize,
  settings: DeflateSettings,
  /// No context takeover with the server's own settings: this connection sends the frames
  /// every such connection shares.
  shares: bool,
  /// Context takeover: the connection's own compressor, used by its writer alone, and made
  /// for the first message it compresses (idle connections hold no zlib state, as in `ws`).
  own: Option<Mutex<Option<Compressor>>>,
}

impl ConnDeflate {
  pub fn new(config: &DeflateConfig, agreed: Agreed) -> Self {
    let settings = config.settings(agreed.server_window_bits);
    let takeover = !agreed.server_no_context_takeover;
    ConnDeflate {
      agreed,
      threshold: if takeover && !config.threshold_with_takeover {
        0
      } else {
        config.threshold
      },
      settings,
      shares: !takeover && agreed.server_window_bits == config.policy.server_max_window_bits,
      own: takeover.then(|| Mutex::new(None)),
    }
  }

  /// How the connection's reader inflates what the client compresses.
  pub fn inflation(&self) -> Inflation {
    if self.agreed.client_no_context_takeover {
      Inflation::Pooled
    } else {
      // zlib compresses with a 512-byte window when asked for 256 bytes.
      let bits = self.agreed.client_window_bits.max(9);
      Inflation::Own(Box::new(Decompressor::new(bits)))
    }
  }

  /// Whether a message of `len` bytes is worth compressing.
  pub fn wants(&self, len: usize) -> bool {
    len >= self.threshold
  }

  /// Whether `frame` has `message`'s frame already (a shared message another receiver
  /// compressed): no work then.
  pub fn framed(&self, message: &Outgoing) -> bool {
    self.shares && message.shared.get().is_some()
  }

  /// Compresses `message` into its frame for this connection (on the writer's thread).
  pub fn frame(&self, message: &Outgoing, fragment: usize) -> Bytes {
    if self.shares {
      return message
        .shared
        .get_or_init(|| message.compressed(self.settings, fragment))
        .clone();
    }
    match &self.own {
      Some(own) => {
        let mut own = own.lock().unwrap();
        let compressor = own.get_or_insert_with(|| Compressor::new(self.settings));
        let wire = compressor.compress(&message.payload);
        frame::encode_compressed(message.kind, &wire, fragment)
      }
      None => message.compressed(self.settings, fragment),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::protocol::reader::{Inbound, Incoming, Reader};

  const AGREED: Agreed = Agreed {
    server_no_context_takeover: true,
    client_no_context_takeover: true,
    server_window_bits: 15,
    client_window_bits: 15,
  };

  /// Masks a server frame as a client would send it, and reads it back.
  fn read_back(frame: &[u8]) -> String {
    let mut masked = frame.to_vec();
    let at = if masked[1] == 126 { 4 } else { 2 };
    masked[1] |= 0x80;
    masked.splice(at..at, [0, 0, 0, 0]);
    let mut reader = Reader::new(masked, 1 << 20, 1 << 20, Some(Inflation::Pooled));
    assert!(reader.step().unwrap());
    match reader.incoming() {
      Incoming::Message(Inbound::Text(text)) => text.to_string(),
      other => panic!("{other:?}"),
    }
  }

  #[test]
  fn connections_with_the_servers_settings_share_one_compressed_frame() {
    let config = DeflateConfig::default();
    let (a, b) = (
      ConnDeflate::new(&config, AGREED),
      ConnDeflate::new(&config, AGREED),
    );
    let message = Outgoing::new(Kind::Text, Bytes::from("hello ".repeat(300)));
    let (fa, fb) = (a.frame(&message, 0), b.frame(&message, 0));
    assert_eq!(fa.as_ptr(), fb.as_ptr(), "one compression, one buffer");
    assert_eq!(fa[0], 0xc1, "FIN, RSV1, text");
    assert_eq!(read_back(&fa), "hello ".repeat(300));
  }

  #[test]
  fn a_smaller_window_or_context_takeover_compresses_for_the_connection_alone() {
    let config = DeflateConfig::default();
    let small = ConnDeflate::new(
      &config,
      Agreed {
        server_window_bits: 10,
        ..AGREED
      },
    );
    let takeover = ConnDeflate::new(
      &config,
      Agreed {
        server_no_context_takeover: false,
        ..AGREED
      },
    );
    let message = Outgoing::new(Kind::Text, Bytes::from("abc ".repeat(500)));
    for deflate in [&small, &takeover] {
      assert_eq!(read_back(&deflate.frame(&message, 0)), "abc ".repeat(500));
    }
    assert!(message.shared.get().is_none());
  }

  #[test]
  fn the_threshold_leaves_small_messages_plain() {
    let deflate = ConnDeflate::new(&DeflateConfig::default(), AGREED);
    assert!(!deflate.wants(1023));
    assert!(deflate.wants(1024));
  }

  #[test]
  fn as_in_ws_the_threshold_can_hold_only_without_context_takeover() {
    let config = DeflateConfig {
      threshold_with_takeover: false,
      ..DeflateConfig::default()
    };
    let takeover = Agreed {
      server_no_context_takeover: false,
      ..AGREED
    };
    assert!(ConnDeflate::new(&config, takeover).wants(1));
    assert!(!ConnDeflate::new(&config, AGREED).wants(1023));
    assert!(!ConnDeflate::new(&DeflateConfig::default(), takeover).wants(1023));
  }
}
