//! The calls about one connection that are not per message (those are `fast_calls`): close,
//! ping, topics, flow control and a bridged connection's feed. Each takes the connection's
//! handle (`handle.rs`), as `{ connection }` of an accept call gave it.

use std::net::SocketAddr;
use std::sync::Arc;

use napi::bindgen_prelude::Unknown;
use napi::{Env, JsValue, Result};
use napi_derive::napi;

use crate::conn::{Conn, Host};
use crate::io::bridge::Bridge;
use crate::io::direct;
use crate::napi::handle;
use crate::napi::invalid_arg;
use crate::napi::server::NativeServer;
use crate::protocol::failure::Failure;
use crate::protocol::frame::Kind;

/// The connection behind `connection`, a handle an accept call made.
fn conn<'a>(env: &Env, connection: &Unknown<'a>) -> Result<&'a Arc<Conn>> {
  // SAFETY: on the JavaScript thread, with an argument of the current call.
  unsafe { handle::conn_of(env.raw(), connection.raw()) }
    .ok_or_else(|| invalid_arg("not a ferrows connection".into()))
}

/// The bridge behind `bridge`, the handle `acceptBridge` made.
fn bridge<'a>(env: &Env, bridge: &Unknown<'a>) -> Result<&'a Arc<Bridge>> {
  // SAFETY: on the JavaScript thread, with an argument of the current call.
  unsafe { handle::bridge_of(env.raw(), bridge.raw()) }
    .ok_or_else(|| invalid_arg("not a ferrows bridge".into()))
}

/// A connection's addresses, as a `net.Socket` shows them.
#[napi(object)]
pub struct Addresses {
  pub remote_address: String,
  pub remote_port: u32,
  /// 'IPv4' or 'IPv6'.
  pub remote_family: String,
  pub local_address: String,
  pub local_port: u32,
}

fn family(address: &SocketAddr) -> String {
  if address.is_ipv4() { "IPv4" } else { "IPv6" }.to_string()
}

#[napi]
impl NativeServer {
  /// The addresses of a TCP connection the engine holds, read from its socket; null once it is
  /// closing, for a Unix socket, or for a bridged one (JavaScript has that socket).
  #[napi]
  pub fn addresses(&self, env: Env, connection: Unknown<'_>) -> Result<Option<Addresses>> {
    let conn = conn(&env, &connection)?;
    let found = conn.out.with_fd(direct::tcp_addresses).flatten();
    Ok(found.map(|(remote, local)| Addresses {
      remote_address: remote.ip().to_string(),
      remote_port: u32::from(remote.port()),
      remote_family: family(&remote),
      local_address: local.ip().to_string(),
      local_port: u32::from(local.port()),
    }))
  }

  /// Whether the connection agreed permessage-deflate.
  #[napi]
  pub fn compresses(&self, env: Env, connection: Unknown<'_>) -> Result<bool> {
    Ok(conn(&env, &connection)?.deflate.is_some())
  }

  #[napi]
  pub fn buffered_amount(&self, env: Env, connection: Unknown<'_>) -> Result<f64> {
    Ok(conn(&env, &connection)?.out.buffered() as f64)
  }

  /// Queues a ping (`pong`: a pong) with `data`; returns the send status.
  #[napi]
  pub fn ping(&self, env: Env, connection: Unknown<'_>, data: &[u8], pong: bool) -> Result<u32> {
    let conn = conn(&env, &connection)?;
    let kind = if pong { Kind::Pong } else { Kind::Ping };
    let status = conn.send(kind, data, false);
    self.shared.cork(conn);
    Ok(status as u32)
  }

  /// Starts the closing handshake; the code was validated by the caller. Without a code the
  /// close frame is empty (the peer reports 1005).
  #[napi]
  pub fn close(
    &self,
    env: Env,
    connection: Unknown<'_>,
    code: Option<u32>,
    reason: Option<String>,
  ) -> Result<()> {
    let status = code.map(|c| (c as u16, reason.unwrap_or_default()));
    conn(&env, &connection)?.close(status);
    Ok(())
  }

  /// Sends a close frame with `code` and destroys the socket without waiting for the peer
  /// (`websocket`'s `drop`); `close` reports this code.
  #[napi]
  pub fn drop(&self, env: Env, connection: Unknown<'_>, code: u32, reason: String) -> Result<()> {
    conn(&env, &connection)?.fail(Failure::dropped(code as u16, reason));
    Ok(())
  }

  #[napi]
  pub fn terminate(&self, env: Env, connection: Unknown<'_>) -> Result<()> {
    conn(&env, &connection)?.terminate();
    Ok(())
  }

  /// Stops reading the socket (`paused`) until called again with false; the peer is pushed
  /// back by TCP.
  #[napi]
  pub fn set_paused(&self, env: Env, connection: Unknown<'_>, paused: bool) -> Result<()> {
    conn(&env, &connection)?.set_paused(paused);
    Ok(())
  }

  #[napi]
  pub fn is_paused(&self, env: Env, connection: Unknown<'_>) -> Result<bool> {
    Ok(conn(&env, &connection)?.is_paused())
  }

  /// JavaScript has handled every event up to a `PeerClose` or `Error` one: the engine may now
  /// send its close frame, after what the handlers sent.
  #[napi]
  pub fn caught_up(&self, env: Env, connection: Unknown<'_>) -> Result<()> {
    conn(&env, &connection)?.caught_up();
    Ok(())
  }

  /// Frames and messages queued so far on the connection (a wrapping count): the target of a
  /// send callback (`notifyFramesWritten`).
  #[napi]
  pub fn frames_queued(&self, env: Env, connection: Unknown<'_>) -> Result<u32> {
    Ok(conn(&env, &connection)?.out.queued())
  }

  /// Frames and messages written whole so far (a wrapping count).
  #[napi]
  pub fn frames_written(&self, env: Env, connection: Unknown<'_>) -> Result<u32> {
    Ok(conn(&env, &connection)?.out.sent())
  }

  /// Asks for a `WRITTEN` event once `framesWritten` reaches `target`.
  #[napi]
  pub fn notify_frames_written(
    &self,
    env: Env,
    connection: Unknown<'_>,
    target: u32,
  ) -> Result<()> {
    conn(&env, &connection)?.notify_when_sent(target);
    Ok(())
  }

  /// Subscribes to `topic`; false when already subscribed or closed.
  #[napi]
  pub fn subscribe(&self, env: Env, connection: Unknown<'_>, topic: String) -> Result<bool> {
    Ok(self.shared.subscribe(conn(&env, &connection)?, &topic))
  }

  #[napi]
  pub fn unsubscribe(&self, env: Env, connection: Unknown<'_>, topic: String) -> Result<bool> {
    Ok(self.shared.unsubscribe(conn(&env, &connection)?, &topic))
  }

  #[napi]
  pub fn is_subscribed(&self, env: Env, connection: Unknown<'_>, topic: String) -> Result<bool> {
    Ok(conn(&env, &connection)?.is_subscribed(&topic))
  }

  #[napi]
  pub fn topics(&self, env: Env, connection: Unknown<'_>) -> Result<Vec<String>> {
    Ok(conn(&env, &connection)?.topics())
  }

  /// Bridged connections: bytes read from the socket. False asks JavaScript to pause it until a
  /// `BridgeResume` event.
  #[napi]
  pub fn feed(&self, env: Env, handle: Unknown<'_>, chunk: &[u8]) -> Result<bool> {
    Ok(bridge(&env, &handle)?.feed(chunk))
  }

  /// Bridged connections: the socket ended or closed.
  #[napi]
  pub fn feed_end(&self, env: Env, handle: Unknown<'_>) -> Result<()> {
    bridge(&env, &handle)?.end();
    Ok(())
  }

  /// Bridged connections: `socket.write` finished `n` bytes of a `BridgeWrite` event.
  #[napi]
  pub fn written(&self, env: Env, handle: Unknown<'_>, n: u32) -> Result<()> {
    bridge(&env, &handle)?.written(n as usize);
    Ok(())
  }
}
