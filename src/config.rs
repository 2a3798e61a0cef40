//! Every limit and default of the engine, defined once.
//!
//! JavaScript reads these values from the addon (`defaultConfig()`), and a test compares the
//! `@default` tags of `index.d.ts` with them.

use std::time::Duration;

use crate::protocol::deflate::DeflateSettings;
use crate::protocol::extension::DeflatePolicy;

/// Bytes of work (a message to compress, input to unmask, inflate and check) from which an engine
/// task first makes the call into JavaScript that waits for the end of the worker's pass
/// (`server::events`): the events already queued are handled meanwhile, on JavaScript's thread,
/// rather than after it. 64 KiB compress in about 100 µs at level 1.
pub const LONG_WORK_BYTES: usize = 64 * 1024;

/// Limits and timers of one server. Each field documents its default and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
  /// Largest message accepted, in bytes (1 MiB). Above it the connection closes with 1009.
  /// Smaller than tungstenite's 64 MiB: a server should not let one client pin that much memory.
  pub max_payload: usize,
  /// Largest single frame accepted, in bytes (defaults to `max_payload`). The `websocket` face
  /// sets 64 KiB, as that package does.
  pub max_frame: usize,
  /// Interval between server pings (30 s). Zero disables pings.
  pub ping_interval: Duration,
  /// A connection silent for this long is dropped with 1006 (60 s: two missed pings). Zero disables.
  pub idle_timeout: Duration,
  /// How long to wait for the peer's close frame, and for queued bytes to drain, before the
  /// socket is destroyed (5 s, as `ws` and `websocket`).
  pub close_timeout: Duration,
  /// Queued outbound bytes above which `send` returns false and `drain` is armed (1 MiB).
  pub high_water_mark: usize,
  /// Queued outbound bytes above which the connection counts as backed up (16 MiB). A send is
  /// never refused for its size, and a burst is not slowness: above this bound the engine stops
  /// reading the peer (it can make the server queue no more replies), and if the socket then
  /// takes no byte for `send_timeout` the connection is closed with 1008.
  pub max_backpressure: usize,
  /// How long a connection backed up past `max_backpressure` may go without its socket taking a
  /// byte before it is closed with 1008 (30 s). A client that reads, however slowly, is never cut;
  /// one that stopped reading pins at most what the application queued for it, this long.
  pub send_timeout: Duration,
  /// Received bytes waiting for JavaScript, per connection, above which the socket is no longer
  /// read (4 MiB): TCP then pushes back on a fast client.
  pub max_inbound_pending: usize,
  /// Outgoing messages larger than this are split into frames of this size (0: never split).
  /// The `websocket` face uses 16 KiB, as that package does.
  pub fragmentation_threshold: usize,
  /// Disable Nagle's algorithm on accepted sockets (true: WebSocket traffic is latency-bound).
  pub no_delay: bool,
  /// Answer every ping with a pong (true, as RFC 6455 asks). False leaves it to the application,
  /// as `ws`'s `autoPong: false`; the `ping` event is delivered either way.
  pub auto_pong: bool,
  /// Pongs answered automatically and not yet written past which a peer that pings faster than
  /// it reads is cut (1006), as `ws`'s `maxPendingAutoPongs`; 0: no such cut.
  pub max_pending_pongs: u32,
  /// permessage-deflate, when the application enables it (off by default, as in `ws`).
  pub deflate: Option<DeflateConfig>,
}

/// permessage-deflate's settings (RFC 7692). The defaults keep no zlib state per connection:
/// both sides compress each message from an empty window, so the contexts are shared per engine
/// thread. Context takeover compresses repeated content better at a cost per connection (about
/// 300 KB for a level-1 compressor with memLevel 8 and a 32 KB window, 40 KB to inflate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
  /// Messages smaller than this many bytes are sent uncompressed (1024, as `ws`): below it
  /// the header and the CPU cost more than the bytes saved.
  pub threshold: usize,
  /// Whether the threshold also holds on a connection that keeps its compression context.
  /// `ws` applies it only without context takeover, and compresses every message otherwise:
  /// its face turns this off.
  pub threshold_with_takeover: bool,
  /// zlib's level (1: fastest; chat-sized JSON compresses nearly as well as at 6, at a third of
  /// the CPU) and memLevel (8, zlib's default).
  pub level: u8,
  pub mem_level: u8,
  /// What the server agrees to: no context takeover either way, 15-bit windows.
  pub policy: DeflatePolicy,
}

impl DeflateConfig {
  /// The compressor settings for a connection that agreed `window_bits`.
  pub fn settings(&self, window_bits: u8) -> DeflateSettings {
    DeflateSettings {
      level: self.level,
      mem_level: self.mem_level,
      window_bits,
    }
  }
}

impl Default for DeflateConfig {
  fn default() -> Self {
    DeflateConfig {
      threshold: 1024,
      threshold_with_takeover: true,
      level: 1,
      mem_level: 8,
      policy: DeflatePolicy {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
      },
    }
  }
}

impl Default for ServerConfig {
  fn default() -> Self {
    Self {
      max_payload: 1 << 20,
      max_frame: 1 << 20,
      ping_interval: Duration::from_secs(30),
      idle_timeout: Duration::from_secs(60),
      close_timeout: Duration::from_secs(5),
      high_water_mark: 1 << 20,
      max_backpressure: 16 << 20,
      send_timeout: Duration::from_secs(30),
      max_inbound_pending: 4 << 20,
      fragmentation_threshold: 0,
      no_delay: true,
      auto_pong: true,
      max_pending_pongs: 60,
      deflate: None,
    }
  }
}

/// A field whose value is out of its range, with a sentence that names it (JavaScript throws it
/// as a RangeError with code `ERR_OUT_OF_RANGE`; it has checked the types already).
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidOption(pub String);

/// The options as JavaScript hands them over: every field optional, numbers as f64.
#[derive(Debug, Default, Clone)]
pub struct RawConfig {
  pub max_payload: Option<f64>,
  pub max_frame: Option<f64>,
  pub ping_interval: Option<f64>,
  pub idle_timeout: Option<f64>,
  pub close_timeout: Option<f64>,
  pub high_water_mark: Option<f64>,
  pub max_backpressure: Option<f64>,
  pub send_timeout: Option<f64>,
  pub max_inbound_pending: Option<f64>,
  pub fragmentation_threshold: Option<f64>,
  pub no_delay: Option<bool>,
  pub auto_pong: Option<bool>,
  pub max_pending_auto_pongs: Option<f64>,
  /// Present when permessage-deflate is enabled.
  pub deflate: Option<RawDeflate>,
}

/// permessage-deflate's options as JavaScript hands them over (`ws`'s names). The binding takes
/// this very struct from JavaScript (a plain object of optional fields needs no conversion).
#[cfg_attr(all(feature = "node", not(test)), napi_derive::napi(object))]
#[derive(Debug, Default, Clone)]
pub struct RawDeflate {
  pub threshold: Option<f64>,
  pub threshold_with_takeover: Option<bool>,
  pub level: Option<f64>,
  pub mem_level: Option<f64>,
  pub server_no_context_takeover: Option<bool>,
  pub client_no_context_takeover: Option<bool>,
  pub server_max_window_bits: Option<f64>,
  pub client_max_window_bits: Option<f64>,
}

/// Largest byte size accepted for any limit: 2^31 - 1 keeps every count inside a JS int32
/// and a u32 event field.
const MAX_BYTES: f64 = 2_147_483_647.0;
/// Largest duration accepted, in milliseconds (about 24.8 days, as Node's timers).
const MAX_MILLIS: f64 = 2_147_483_647.0;

fn bytes(name: &str, value: Option<f64>, default: usize, min: f64) -> Result<usize, InvalidOption> {
  match value {
    None => Ok(default),
    Some(v) if v.fract() == 0.0 && (min..=MAX_BYTES).contains(&v) => Ok(v as usize),
    Some(v) => Err(InvalidOption(format!(
      "The \"{name}\" option must be an integer from {min} to {MAX_BYTES}; received {v}"
    ))),
  }
}

fn millis(
  name: &str,
  value: Option<f64>,
  default: Duration,
  min: f64,
) -> Result<Duration, InvalidOption> {
  match value {
    None => Ok(default),
    Some(v) if v.fract() == 0.0 && (min..=MAX_MILLIS).contains(&v) => {
      Ok(Duration::from_millis(v as u64))
    }
    Some(v) => Err(InvalidOption(format!(
      "The \"{name}\" option must be a whole number of milliseconds from {min} to {MAX_MILLIS}; received {v}"
    ))),
  }
}

fn integer(
  name: &str,
  value: Option<f64>,
  default: u8,
  range: (u8, u8),
) -> Result<u8, InvalidOption> {
  match value {
    None => Ok(default),
    Some(v) if v.fract() == 0.0 && (f64::from(range.0)..=f64::from(range.1)).contains(&v) => {
      Ok(v as u8)
    }
    Some(v) => Err(InvalidOption(format!(
      "The \"perMessageDeflate.{name}\" option must be an integer from {} to {}; received {v}",
      range.0, range.1
    ))),
  }
}

impl TryFrom<RawDeflate> for DeflateConfig {
  type Error = InvalidOption;

  fn try_from(raw: RawDeflate) -> Result<Self, Self::Error> {
    let d = DeflateConfig::default();
    let p = d.policy;
    Ok(DeflateConfig {
      threshold: bytes(
        "perMessageDeflate.threshold",
        raw.threshold,
        d.threshold,
        0.0,
      )?,
      threshold_with_takeover: raw
        .threshold_with_takeover
        .unwrap_or(d.threshold_with_takeover),
      level: integer("level", raw.level, d.level, (0, 9))?,
      mem_level: integer("memLevel", raw.mem_level, d.mem_level, (1, 9))?,
      policy: DeflatePolicy {
        server_no_context_takeover: raw
          .server_no_context_takeover
          .unwrap_or(p.server_no_context_takeover),
        client_no_context_takeover: raw
          .client_no_context_takeover
          .unwrap_or(p.client_no_context_takeover),
        // zlib cannot compress raw DEFLATE with a 256-byte window.
        server_max_window_bits: integer(
          "serverMaxWindowBits",
          raw.server_max_window_bits,
          p.server_max_window_bits,
          (9, 15),
        )?,
        client_max_window_bits: integer(
          "clientMaxWindowBits",
          raw.client_max_window_bits,
          p.client_max_window_bits,
          (8, 15),
        )?,
      },
    })
  }
}

impl TryFrom<RawConfig> for ServerConfig {
  type Error = InvalidOption;

  fn try_from(raw: RawConfig) -> Result<Self, Self::Error> {
    let d = ServerConfig::default();
    let max_payload = bytes("maxPayload", raw.max_payload, d.max_payload, 1.0)?;
    let config = ServerConfig {
      max_payload,
      max_frame: bytes("maxFrame", raw.max_frame, max_payload, 1.0)?,
      ping_interval: millis("pingInterval", raw.ping_interval, d.ping_interval, 0.0)?,
      idle_timeout: millis("idleTimeout", raw.idle_timeout, d.idle_timeout, 0.0)?,
      close_timeout: millis("closeTimeout", raw.close_timeout, d.close_timeout, 0.0)?,
      high_water_mark: bytes("highWaterMark", raw.high_water_mark, d.high_water_mark, 0.0)?,
      max_backpressure: bytes(
        "maxBackpressure",
        raw.max_backpressure,
        d.max_backpressure,
        1.0,
      )?,
      send_timeout: millis("sendTimeout", raw.send_timeout, d.send_timeout, 1.0)?,
      max_inbound_pending: bytes(
        "maxInboundPending",
        raw.max_inbound_pending,
        d.max_inbound_pending,
        1.0,
      )?,
      fragmentation_threshold: bytes(
        "fragmentationThreshold",
        raw.fragmentation_threshold,
        d.fragmentation_threshold,
        0.0,
      )?,
      no_delay: raw.no_delay.unwrap_or(d.no_delay),
      auto_pong: raw.auto_pong.unwrap_or(d.auto_pong),
      max_pending_pongs: bytes(
        "maxPendingAutoPongs",
        raw.max_pending_auto_pongs,
        d.max_pending_pongs as usize,
        0.0,
      )? as u32,
      deflate: raw.deflate.map(DeflateConfig::try_from).transpose()?,
    };
    if config.high_water_mark > config.max_backpressure {
      return Err(InvalidOption(format!(
        "The \"highWaterMark\" option ({}) must not exceed maxBackpressure ({})",
        config.high_water_mark, config.max_backpressure
      )));
    }
    Ok(config)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn empty_options_give_the_defaults() {
    assert_eq!(
      ServerConfig::try_from(RawConfig::default()).unwrap(),
      ServerConfig::default()
    );
  }

  #[test]
  fn max_frame_follows_max_payload_unless_given() {
    let raw = RawConfig {
      max_payload: Some(4096.0),
      ..Default::default()
    };
    assert_eq!(ServerConfig::try_from(raw).unwrap().max_frame, 4096);
  }

  #[test]
  fn a_fractional_or_negative_size_names_the_option() {
    for bad in [-1.0, 1.5, f64::NAN, 1e12] {
      let raw = RawConfig {
        max_payload: Some(bad),
        ..Default::default()
      };
      let err = ServerConfig::try_from(raw).unwrap_err();
      assert!(
        err.0.starts_with("The \"maxPayload\" option must be"),
        "{}",
        err.0
      );
    }
  }

  #[test]
  fn durations_are_milliseconds() {
    let raw = RawConfig {
      close_timeout: Some(250.0),
      ping_interval: Some(0.0),
      ..Default::default()
    };
    let config = ServerConfig::try_from(raw).unwrap();
    assert_eq!(config.close_timeout, Duration::from_millis(250));
    assert_eq!(config.ping_interval, Duration::ZERO);
  }

  #[test]
  fn a_send_timeout_of_zero_is_refused() {
    let raw = RawConfig {
      send_timeout: Some(0.0),
      ..Default::default()
    };
    assert!(ServerConfig::try_from(raw)
      .unwrap_err()
      .0
      .starts_with("The \"sendTimeout\" option must be"));
  }

  #[test]
  fn deflate_options_are_checked_by_their_full_name() {
    let raw = RawConfig {
      deflate: Some(RawDeflate {
        server_max_window_bits: Some(8.0),
        ..Default::default()
      }),
      ..Default::default()
    };
    let err = ServerConfig::try_from(raw).unwrap_err();
    assert!(
      err
        .0
        .starts_with("The \"perMessageDeflate.serverMaxWindowBits\" option"),
      "{}",
      err.0
    );
    let on = RawConfig {
      deflate: Some(RawDeflate::default()),
      ..Default::default()
    };
    assert_eq!(
      ServerConfig::try_from(on).unwrap().deflate,
      Some(DeflateConfig::default())
    );
  }

  #[test]
  fn high_water_mark_above_the_cap_is_refused() {
    let raw = RawConfig {
      high_water_mark: Some(2048.0),
      max_backpressure: Some(1024.0),
      ..Default::default()
    };
    assert!(ServerConfig::try_from(raw)
      .unwrap_err()
      .0
      .contains("highWaterMark"));
  }
}

#[cfg(test)]
mod properties {
  use super::*;
  use proptest::prelude::*;

  proptest! {
    #[test]
    fn any_number_is_either_accepted_in_range_or_refused_by_name(v in any::<f64>()) {
      let raw = RawConfig { max_backpressure: Some(v), ..Default::default() };
      match ServerConfig::try_from(raw) {
        Ok(c) => prop_assert!(c.max_backpressure >= 1 && (c.max_backpressure as f64) == v),
        Err(e) => prop_assert!(e.0.contains("maxBackpressure") || e.0.contains("highWaterMark")),
      }
    }
  }
}
