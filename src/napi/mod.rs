//! The N-API surface: it only converts values and exports. `NativeServer` (server.rs), its
//! calls about one connection (connection.rs), the per-message calls (fast_calls.rs), the
//! handles JavaScript holds (handle.rs), and here the module-level functions: defaults,
//! handshake checks and the protocol tables JavaScript reads.

mod connection;
pub(crate) mod fast_calls;
mod handle;
mod server;

use napi::bindgen_prelude::{Buffer, Object};
use napi::{Env, Error, JsValue, Result, Status};
use napi_derive::napi;

use crate::config::{DeflateConfig, RawConfig, RawDeflate, ServerConfig};
use crate::conn::SendStatus;
use crate::protocol::failure::ErrorCode;
use crate::protocol::{frame, handshake};
use crate::server::events::EventKind;

/// Server options as JavaScript passes them; every field optional (see `config.rs`).
#[napi(object)]
#[derive(Default)]
pub struct BindingConfig {
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
  /// permessage-deflate's options; absent: no compression.
  pub per_message_deflate: Option<RawDeflate>,
  /// Scale-out: the Redis URL (not an engine limit, so `defaultConfig()` leaves it out).
  pub redis: Option<String>,
  /// Scale-out over a Redis Cluster: URLs of some of its nodes (instead of `redis`).
  pub redis_cluster: Option<Vec<String>>,
  /// Scale-out: the channel prefix shared by the nodes of one application.
  pub redis_prefix: Option<String>,
  /// Deliver text messages as UTF-8 bytes (the `ws` face hands them out as Buffers), not as
  /// strings. A face's choice, not an engine limit.
  pub text_as_buffer: Option<bool>,
}

impl From<BindingConfig> for RawConfig {
  fn from(b: BindingConfig) -> Self {
    RawConfig {
      max_payload: b.max_payload,
      max_frame: b.max_frame,
      ping_interval: b.ping_interval,
      idle_timeout: b.idle_timeout,
      close_timeout: b.close_timeout,
      high_water_mark: b.high_water_mark,
      max_backpressure: b.max_backpressure,
      send_timeout: b.send_timeout,
      max_inbound_pending: b.max_inbound_pending,
      fragmentation_threshold: b.fragmentation_threshold,
      no_delay: b.no_delay,
      auto_pong: b.auto_pong,
      max_pending_auto_pongs: b.max_pending_auto_pongs,
      deflate: b.per_message_deflate,
    }
  }
}

/// The engine's defaults, so JavaScript and the type definitions can be checked against them.
#[napi]
pub fn default_config() -> BindingConfig {
  let d = ServerConfig::default();
  let ms = |t: std::time::Duration| Some(t.as_millis() as f64);
  BindingConfig {
    max_payload: Some(d.max_payload as f64),
    max_frame: Some(d.max_frame as f64),
    ping_interval: ms(d.ping_interval),
    idle_timeout: ms(d.idle_timeout),
    close_timeout: ms(d.close_timeout),
    high_water_mark: Some(d.high_water_mark as f64),
    max_backpressure: Some(d.max_backpressure as f64),
    send_timeout: ms(d.send_timeout),
    max_inbound_pending: Some(d.max_inbound_pending as f64),
    fragmentation_threshold: Some(d.fragmentation_threshold as f64),
    no_delay: Some(d.no_delay),
    auto_pong: Some(d.auto_pong),
    max_pending_auto_pongs: Some(f64::from(d.max_pending_pongs)),
    per_message_deflate: None,
    redis: None,
    redis_cluster: None,
    redis_prefix: None,
    text_as_buffer: None,
  }
}

/// permessage-deflate's defaults once enabled (`perMessageDeflate: true`).
#[napi]
pub fn default_deflate() -> RawDeflate {
  let d = DeflateConfig::default();
  RawDeflate {
    threshold: Some(d.threshold as f64),
    threshold_with_takeover: Some(d.threshold_with_takeover),
    level: Some(f64::from(d.level)),
    mem_level: Some(f64::from(d.mem_level)),
    server_no_context_takeover: Some(d.policy.server_no_context_takeover),
    client_no_context_takeover: Some(d.policy.client_no_context_takeover),
    server_max_window_bits: Some(f64::from(d.policy.server_max_window_bits)),
    client_max_window_bits: Some(f64::from(d.policy.client_max_window_bits)),
  }
}

/// Why `config` cannot build a server (an option out of its range, named in the sentence), or
/// None. JavaScript checks the types first and throws this as a RangeError.
#[napi]
pub fn check_limits(config: BindingConfig) -> Option<String> {
  ServerConfig::try_from(RawConfig::from(config))
    .err()
    .map(|e| e.0)
}

/// What a new connection's client has sent so far, when it holds a whole request head; the
/// bytes stay in the socket (see `NativeServer.acceptHead`'s `peeked`).
#[napi]
pub fn peek_head(fd: i32) -> Option<Buffer> {
  crate::io::peek::request_head(fd).map(Buffer::from)
}

/// Removes the `len` bytes `peekHead` saw from socket `fd`: the request of a connection that
/// becomes a `net.Socket` after all, so that Node reads only what came after it.
#[napi]
pub fn drop_peeked(fd: i32, len: u32) -> Result<()> {
  crate::io::peek::discard(fd, len as usize)
    .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))
}

/// The length of the request head in `first` when it is a plain WebSocket upgrade the engine
/// can answer (see `NativeServer.acceptHead`), else null.
#[napi]
pub fn plain_upgrade(first: &[u8]) -> Option<u32> {
  crate::protocol::request::parse(first).map(|upgrade| upgrade.len as u32)
}

/// The `Sec-WebSocket-Accept` value for `key`, for a face that shows the 101's lines to the
/// application before the engine writes them (`ws`'s 'headers' event).
#[napi]
pub fn accept_key(key: String) -> String {
  handshake::accept_key(&key)
}

/// 0 when the key and version allow the upgrade, else the HTTP status to answer.
#[napi]
pub fn handshake_status(key: Option<String>, version: Option<String>) -> u32 {
  match handshake::check(key.as_deref(), version.as_deref()) {
    Ok(()) => 0,
    Err(rejection) => u32::from(rejection.status()),
  }
}

/// Whether an application may send `code` in a close frame.
#[napi]
pub fn is_valid_close_code(code: u32) -> bool {
  frame::is_valid_close_code(code)
}

/// The JavaScript side of the protocol between the two halves, from the one definition in Rust:
/// event kinds by name, send statuses by name, and the `err.code` of each error code index.
#[napi(object)]
pub struct Protocol {
  pub events: std::collections::HashMap<String, u32>,
  pub send_status: std::collections::HashMap<String, u32>,
  pub error_codes: Vec<String>,
}

#[napi]
pub fn protocol() -> Protocol {
  Protocol {
    events: EventKind::ALL
      .iter()
      .map(|(kind, name)| (name.to_string(), *kind as u32))
      .collect(),
    send_status: SendStatus::ALL
      .iter()
      .map(|(status, name)| (name.to_string(), *status as u32))
      .collect(),
    error_codes: ErrorCode::ALL
      .iter()
      .map(|code| code.as_str().to_string())
      .collect(),
  }
}

pub(crate) fn invalid_arg(message: String) -> Error {
  Error::new(Status::InvalidArg, message)
}

/// Adds the per-message calls (fast_calls.rs) to the module's exports.
#[napi(module_exports)]
pub fn exports(exports: Object<'_>, env: Env) -> Result<()> {
  // SAFETY: the module's own env and exports, during its initialization.
  let status = unsafe { fast_calls::define(env.raw(), exports.raw()) };
  match status {
    napi::sys::Status::napi_ok => Ok(()),
    _ => Err(Error::from_reason("cannot define the per-message calls")),
  }
}
