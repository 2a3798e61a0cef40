//! The N-API surface: argument conversion, the threadsafe function and the exported classes.
//! Everything N-API lives here, so the engine modules build and test without Node.

use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::{
  Buffer, FnArgs, FromNapiValue, Function, Object, Uint32Array, Unknown,
};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Error, JsValue, Result, Status};
use napi_derive::napi;

use crate::bridge::Bridge;
use crate::config::{RawConfig, ServerConfig};
use crate::conn::Conn;
use crate::error::Failure;
use crate::events::{Batch, EventQueue};
use crate::frame::{self, Kind};
use crate::server::Shared;
use crate::writer::WriteSide;
use crate::{fast_calls, handoff, handshake, runtime, scaleout, session};

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
  /// Scale-out: the Redis URL (not an engine limit, so `defaultConfig()` leaves it out).
  pub redis: Option<String>,
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
    redis: None,
    redis_prefix: None,
    text_as_buffer: None,
  }
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

fn invalid_arg(message: String) -> Error {
  Error::new(Status::InvalidArg, message)
}

/// The arguments of one call into JavaScript, spread as `(meta, text, binary)`.
type BatchArgs = FnArgs<(Uint32Array, String, Buffer)>;

type Tsfn = ThreadsafeFunction<(), Unknown<'static>, BatchArgs, Status, false, true>;

fn into_args(mut batch: Batch) -> BatchArgs {
  batch.return_credit();
  (
    Uint32Array::new(batch.meta),
    batch.text,
    Buffer::from(batch.bin),
  )
    .into()
}

/// One server's engine: accepts handed-off sockets and fans out broadcasts.
#[napi]
pub struct NativeServer {
  shared: Arc<Shared>,
  /// The raw threadsafe function, for ref/unref (the queue owns the function itself).
  tsfn: napi::sys::napi_threadsafe_function,
}

#[napi]
impl NativeServer {
  /// `dispatch(meta, text, binary)` receives every event batch (see `events.rs`).
  #[napi(constructor)]
  pub fn new(
    mut config: BindingConfig,
    dispatch: Function<BatchArgs, Unknown<'static>>,
  ) -> Result<Self> {
    let redis = config.redis.take();
    let prefix = config.redis_prefix.take();
    let text_as_buffer = config.text_as_buffer.take().unwrap_or(false);
    let config = ServerConfig::try_from(RawConfig::from(config)).map_err(|e| invalid_arg(e.0))?;
    let events = Arc::new(EventQueue::new(text_as_buffer));
    let weak = Arc::downgrade(&events);
    // Weak: the function never keeps Node alive by itself; `keepAlive` refs it while
    // connections are open.
    let tsfn: Tsfn = dispatch
      .build_threadsafe_function::<()>()
      .callee_handled::<false>()
      .weak::<true>()
      .build_callback(move |_ctx| {
        let batch = weak.upgrade().and_then(|q| q.take());
        Ok(into_args(batch.unwrap_or_default()))
      })?;
    let raw = tsfn.raw();
    events.set_schedule(Box::new(move || {
      tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }));
    let shared = Arc::new(Shared::new(config, events));
    if let Some(url) = redis {
      let prefix = prefix.as_deref().unwrap_or(scaleout::DEFAULT_PREFIX);
      let link = scaleout::start(&shared, &url, prefix).map_err(invalid_arg)?;
      let _ = shared.link.set(link);
    }
    Ok(NativeServer { shared, tsfn: raw })
  }

  /// Registers a connection whose first bytes out are its `101`, ahead of anything JavaScript
  /// sends.
  fn open_with(&self, response: Vec<u8>) -> Arc<Conn> {
    let conn = self.shared.open();
    let _ = conn.out.push(Bytes::from(response));
    conn
  }

  /// Takes over the upgraded socket `fd`: queues the `101` (with `protocol` and extra header
  /// lines), then runs the connection over the bytes already read (`head`) and the socket.
  #[napi]
  pub fn accept(
    &self,
    fd: i32,
    head: &[u8],
    key: String,
    protocol: Option<String>,
    headers: Option<Vec<String>>,
  ) -> Result<NativeSocket> {
    let response = response(&key, protocol, headers)?;
    let rt = runtime::get();
    let _enter = rt.enter();
    let stream = handoff::adopt(fd, self.shared.config.no_delay).map_err(|e| {
      Error::new(
        Status::GenericFailure,
        format!("socket handoff failed: {e}"),
      )
    })?;
    let conn = self.open_with(response);
    session::start(conn.clone(), stream, head.to_vec());
    // The 101 leaves now, from this thread, unless the socket cannot take it.
    conn.flush();
    Ok(NativeSocket { conn, bridge: None })
  }

  /// Runs a connection over a socket Node keeps (TLS, or no descriptor): JavaScript feeds its
  /// bytes with `feed` and writes the engine's `BridgeWrite` events to it.
  #[napi]
  pub fn accept_bridge(
    &self,
    head: &[u8],
    key: String,
    protocol: Option<String>,
    headers: Option<Vec<String>>,
  ) -> Result<NativeSocket> {
    let conn = self.open_with(response(&key, protocol, headers)?);
    let bridge = Bridge::new(conn.id, self.shared.events.clone());
    let (read, write) = bridge.halves();
    let write = WriteSide::new(conn.clone(), write, None);
    runtime::get().spawn(session::run(conn.clone(), read, write, head.to_vec()));
    Ok(NativeSocket {
      conn,
      bridge: Some(bridge),
    })
  }

  /// Queues a text message on every open connection but `except`; returns how many got it.
  #[napi]
  pub fn broadcast_text(&self, data: String, except: Option<u32>) -> u32 {
    self.broadcast(Kind::Text, data.as_bytes(), except)
  }

  #[napi]
  pub fn broadcast_binary(&self, data: &[u8], except: Option<u32>) -> u32 {
    self.broadcast(Kind::Binary, data, except)
  }

  fn broadcast(&self, kind: Kind, data: &[u8], except: Option<u32>) -> u32 {
    self.shared.send_message(None, kind, data, except)
  }

  /// Queues a text message on every subscriber of `topic` but `except`; returns the count.
  #[napi]
  pub fn publish_text(&self, topic: String, data: String, except: Option<u32>) -> u32 {
    self
      .shared
      .send_message(Some(&topic), Kind::Text, data.as_bytes(), except)
  }

  #[napi]
  pub fn publish_binary(&self, topic: String, data: &[u8], except: Option<u32>) -> u32 {
    self
      .shared
      .send_message(Some(&topic), Kind::Binary, data, except)
  }

  /// Scale-out: messages not handed to Redis (queue full, or Redis down); 0 without `redis`.
  #[napi(getter)]
  pub fn redis_dropped(&self) -> f64 {
    self.shared.link.get().map_or(0.0, |l| l.dropped() as f64)
  }

  /// How many connections subscribe to `topic`.
  #[napi]
  pub fn subscribers(&self, topic: String) -> u32 {
    self.shared.hub.subscribers(&topic)
  }

  /// How many topics have at least one subscriber.
  #[napi(getter)]
  pub fn topic_count(&self) -> u32 {
    self.shared.hub.topic_count() as u32
  }

  /// Writes out every connection that has frames queued since the last flush.
  #[napi]
  pub fn flush(&self) {
    self.shared.flush();
  }

  /// Keeps Node's event loop alive (`true`, while connections are open) or lets it go.
  #[napi]
  pub fn keep_alive(&mut self, env: Env, on: bool) -> Result<()> {
    if self.tsfn.is_null() {
      return Ok(());
    }
    // SAFETY: called on the JavaScript thread; the function lives until `release`.
    let status = unsafe {
      if on {
        napi::sys::napi_ref_threadsafe_function(env.raw(), self.tsfn)
      } else {
        napi::sys::napi_unref_threadsafe_function(env.raw(), self.tsfn)
      }
    };
    match status {
      napi::sys::Status::napi_ok => Ok(()),
      _ => Err(Error::new(
        Status::GenericFailure,
        "threadsafe function ref failed",
      )),
    }
  }

  /// Releases the event channel; the server delivers no event after this.
  #[napi]
  pub fn release(&mut self) {
    if let Some(link) = self.shared.link.get() {
      link.stop();
    }
    self.tsfn = std::ptr::null_mut();
    self.shared.events.release();
  }
}

/// The `101` for a handshake, once the caller's protocol and header lines are known to be safe.
fn response(key: &str, protocol: Option<String>, headers: Option<Vec<String>>) -> Result<Vec<u8>> {
  let headers = headers.unwrap_or_default();
  if let Some(bad) = headers.iter().find(|l| !handshake::is_safe_header_line(l)) {
    return Err(invalid_arg(format!(
      "invalid response header line: {bad:?}"
    )));
  }
  if protocol
    .as_deref()
    .is_some_and(|p| p.contains(['\r', '\n']))
  {
    return Err(invalid_arg("invalid subprotocol".into()));
  }
  Ok(handshake::response(key, protocol.as_deref(), &headers))
}

/// One connection, as JavaScript holds it.
#[napi]
pub struct NativeSocket {
  conn: Arc<Conn>,
  /// Set for bridged connections (`acceptBridge`).
  bridge: Option<Arc<Bridge>>,
}

#[napi]
impl NativeSocket {
  #[napi(getter)]
  pub fn id(&self) -> u32 {
    self.conn.id
  }

  #[napi(getter)]
  pub fn ready_state(&self) -> u32 {
    u32::from(self.conn.ready_state())
  }

  #[napi(getter)]
  pub fn buffered_amount(&self) -> f64 {
    self.conn.out.buffered() as f64
  }

  /// The connection as the module's per-message calls take it (`sendText(connection, text)`,
  /// see fast_calls.rs); each call returns a `SendStatus` (0 queued, 1 above high-water, 2 not
  /// open).
  #[napi(getter)]
  pub fn connection(&self, env: Env) -> Result<Unknown<'_>> {
    // SAFETY: called on the JavaScript thread with its env.
    unsafe {
      let external = fast_calls::conn_external(env.raw(), self.conn.clone());
      if external.is_null() {
        return Err(Error::from_reason("cannot create the connection handle"));
      }
      Unknown::from_napi_value(env.raw(), external)
    }
  }

  fn queue(&self, kind: Kind, data: &[u8]) -> u32 {
    let status = self.conn.send(kind, data);
    self.conn.server.cork(&self.conn);
    status as u32
  }

  #[napi]
  pub fn ping(&self, data: &[u8]) -> u32 {
    self.queue(Kind::Ping, data)
  }

  #[napi]
  pub fn pong(&self, data: &[u8]) -> u32 {
    self.queue(Kind::Pong, data)
  }

  /// Starts the closing handshake; the code was validated by the caller. Without a code the
  /// close frame is empty (the peer reports 1005).
  #[napi]
  pub fn close(&self, code: Option<u32>, reason: Option<String>) {
    self
      .conn
      .close(code.map(|c| (c as u16, reason.unwrap_or_default())));
  }

  /// Sends a close frame with `code` and destroys the socket without waiting for the peer
  /// (`websocket`'s `drop`); `close` reports this code.
  #[napi]
  pub fn drop(&self, code: u32, reason: String) {
    self.conn.fail(Failure::dropped(code as u16, reason));
  }

  /// Stops reading the socket until `resume` (the peer is pushed back by TCP).
  #[napi]
  pub fn pause(&self) {
    self.conn.set_paused(true);
  }

  #[napi]
  pub fn resume(&self) {
    self.conn.set_paused(false);
  }

  #[napi(getter)]
  pub fn is_paused(&self) -> bool {
    self.conn.is_paused()
  }

  /// Subscribes to `topic`; false when already subscribed or closed.
  #[napi]
  pub fn subscribe(&self, topic: String) -> bool {
    self.conn.server.subscribe(&self.conn, &topic)
  }

  #[napi]
  pub fn unsubscribe(&self, topic: String) -> bool {
    self.conn.server.unsubscribe(&self.conn, &topic)
  }

  #[napi]
  pub fn is_subscribed(&self, topic: String) -> bool {
    self.conn.is_subscribed(&topic)
  }

  #[napi(getter)]
  pub fn topics(&self) -> Vec<String> {
    self.conn.topics()
  }

  /// Bridged connections: bytes read from the socket. False asks JavaScript to pause it until a
  /// `BridgeResume` event.
  #[napi]
  pub fn feed(&self, chunk: &[u8]) -> bool {
    self.bridge.as_ref().is_none_or(|b| b.feed(chunk))
  }

  /// Bridged connections: the socket ended or closed.
  #[napi]
  pub fn feed_end(&self) {
    if let Some(b) = &self.bridge {
      b.end();
    }
  }

  /// JavaScript has handled every message before the peer's close frame (a `PeerClose`
  /// event): the engine may now send its close reply.
  #[napi]
  pub fn close_seen(&self) {
    self.conn.close_seen();
  }

  /// Bridged connections: `socket.write` finished `n` bytes of a `BridgeWrite` event.
  #[napi]
  pub fn written(&self, n: u32) {
    if let Some(b) = &self.bridge {
      b.written(n as usize);
    }
  }

  /// Emits `drain` once every frame queued so far has reached the socket.
  #[napi]
  pub fn notify_when_written(&self) {
    self.conn.notify_when_written();
  }

  #[napi]
  pub fn terminate(&self) {
    self.conn.terminate();
  }
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
