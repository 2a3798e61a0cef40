//! `NativeSocket`: one connection as JavaScript holds it, for the calls that are not per message
//! (those are `fast_calls`): close, ping, topics, flow control and the bridge's feed.

use std::sync::Arc;

use napi::bindgen_prelude::{FromNapiValue, Unknown};
use napi::{Env, Error, Result};
use napi_derive::napi;

use crate::conn::{Conn, Host};
use crate::io::bridge::Bridge;
use crate::napi::fast_calls;
use crate::protocol::failure::Failure;
use crate::protocol::frame::Kind;
use crate::server::Shared;

/// One connection, as JavaScript holds it.
#[napi]
pub struct NativeSocket {
  conn: Arc<Conn>,
  server: Arc<Shared>,
  /// Set for bridged connections (`acceptBridge`).
  bridge: Option<Arc<Bridge>>,
  /// The subprotocol the intake chose (`acceptHead`); elsewhere JavaScript chose it.
  protocol: Option<String>,
}

impl NativeSocket {
  pub fn new(conn: Arc<Conn>, server: Arc<Shared>, bridge: Option<Arc<Bridge>>) -> Self {
    NativeSocket {
      conn,
      server,
      bridge,
      protocol: None,
    }
  }

  pub fn with_protocol(mut self, protocol: Option<&str>) -> Self {
    self.protocol = protocol.map(str::to_string);
    self
  }
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

  /// The subprotocol the intake answered with, or null.
  #[napi(getter)]
  pub fn protocol(&self) -> Option<String> {
    self.protocol.clone()
  }

  /// Whether the connection agreed permessage-deflate.
  #[napi(getter)]
  pub fn compresses(&self) -> bool {
    self.conn.deflate.is_some()
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
    let status = self.conn.send(kind, data, false);
    self.server.cork(&self.conn);
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
    self.server.subscribe(&self.conn, &topic)
  }

  #[napi]
  pub fn unsubscribe(&self, topic: String) -> bool {
    self.server.unsubscribe(&self.conn, &topic)
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

  /// JavaScript has handled every event up to a `PeerClose` or `Error` one: the engine may now
  /// send its close frame, after what the handlers sent.
  #[napi]
  pub fn caught_up(&self) {
    self.conn.caught_up();
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
