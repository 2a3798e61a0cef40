//! `NativeServer`: one server's engine as JavaScript holds it. It builds the server from its
//! options, owns the threadsafe function that carries event batches to JavaScript, and converts
//! the arguments of accept, broadcast and publish.

use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, FnArgs, FromNapiValue, Function, Uint32Array, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Error, JsValue, Result, Status};
use napi_derive::napi;

use crate::config::{RawConfig, ServerConfig};
use crate::conn::Conn;
use crate::io::bridge::Bridge;
use crate::io::handoff::{Family, Known};
use crate::napi::handle;
use crate::napi::{invalid_arg, BindingConfig};
use crate::protocol::extension::Agreed;
use crate::protocol::frame::Kind;
use crate::protocol::{handshake, request};
use crate::server::events::{Batch, EventQueue};
use crate::server::Shared;
use crate::{runtime, scaleout};

/// The 101 of a connection Node handed over (`accept`, `acceptBridge`), as the face decided it.
#[napi(object)]
pub struct Answer {
  /// The client's `Sec-WebSocket-Key`.
  pub key: String,
  /// The subprotocol; none when absent.
  pub protocol: Option<String>,
  /// Extra header lines.
  pub headers: Option<Vec<String>>,
  /// The client's `Sec-WebSocket-Extensions`, which the engine answers.
  pub extensions: Option<String>,
}

/// The application's answer to an upgrade the intake took (`acceptHead`'s last argument: the
/// `websocket` face's `accept`); without it the 101 names the client's first subprotocol.
#[napi(object)]
pub struct Chosen {
  /// The subprotocol; none when absent.
  pub protocol: Option<String>,
  /// Extra header lines.
  pub lines: Option<Vec<String>>,
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
  pub(super) shared: Arc<Shared>,
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
    let redis_cluster = config.redis_cluster.take();
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
    let deployment = match (&redis, &redis_cluster) {
      (_, Some(nodes)) => Some(scaleout::Deployment::Cluster(nodes)),
      (Some(url), None) => Some(scaleout::Deployment::Single(url)),
      (None, None) => None,
    };
    if let Some(deployment) = deployment {
      let prefix = prefix.as_deref().unwrap_or(scaleout::DEFAULT_PREFIX);
      let link = scaleout::start(&shared, deployment, prefix).map_err(invalid_arg)?;
      let _ = shared.link.set(Box::new(link));
    }
    Ok(NativeServer { shared, tsfn: raw })
  }

  /// The `Sec-WebSocket-Extensions` value the server answers the client's header with (null:
  /// none). Throws when the header must be refused with 400.
  #[napi]
  pub fn negotiate(&self, extensions: Option<String>) -> Result<Option<String>> {
    Ok(
      self
        .agree(extensions.as_deref())?
        .map(|(_, response)| response),
    )
  }

  fn agree(&self, extensions: Option<&str>) -> Result<Option<(Agreed, String)>> {
    self
      .shared
      .negotiate(extensions)
      .map_err(|_| invalid_arg("Invalid or unacceptable Sec-WebSocket-Extensions header".into()))
  }

  /// The `101` for a handshake, once the caller's protocol and header lines are known to be
  /// safe, with the extension the engine agreed to.
  fn response(&self, answer: Answer) -> Result<(Vec<u8>, Option<Agreed>)> {
    let Answer {
      key,
      protocol,
      headers,
      extensions,
    } = answer;
    let mut headers = headers.unwrap_or_default();
    let agreed = self
      .agree(extensions.as_deref())?
      .map(|(agreed, response)| {
        headers.push(format!("Sec-WebSocket-Extensions: {response}"));
        agreed
      });
    let response = handshake::response(&key, protocol.as_deref(), &headers).map_err(invalid_arg)?;
    Ok((response, agreed))
  }

  /// Takes over the upgraded socket `fd`: queues the `101` (see `Answer`), then runs the
  /// connection over the bytes already read (`head`) and the socket.
  #[napi]
  pub fn accept(&self, env: Env, fd: i32, head: &[u8], answer: Answer) -> Result<Unknown<'_>> {
    let (response, agreed) = self.response(answer)?;
    let _enter = runtime::get().enter();
    let conn = self
      .shared
      .accept_fd(fd, Known::Nothing, 0, head.to_vec(), response, agreed)
      .map_err(|e| {
        Error::new(
          Status::GenericFailure,
          format!("socket handoff failed: {e}"),
        )
      })?;
    handles(&env, conn, None, None)
  }

  /// The Rust-first intake: takes the new connection `fd` when `first` (the first bytes the
  /// client sent) is a plain, valid WebSocket upgrade, and answers it with the `101`: the
  /// agreed extension, and the first offered subprotocol unless the application `chosen` the
  /// answer (see `Chosen`). Null when Node should have the connection after all (its parser then
  /// reads `first` as if nothing had happened), or when the descriptor cannot be adopted.
  /// `peeked`: `first` is still in the socket (`peekHead`), and is taken out of it only when the
  /// engine takes the connection. `accepted`: "tcp" or "unix" when the server's own listener has
  /// just accepted `fd` (nothing to check about it then), else unknown.
  #[napi]
  pub fn accept_head(
    &self,
    env: Env,
    fd: i32,
    first: &[u8],
    peeked: Option<bool>,
    accepted: Option<String>,
    chosen: Option<Chosen>,
  ) -> Result<Option<Unknown<'_>>> {
    let (chosen_protocol, mut headers) = match chosen {
      Some(Chosen { protocol, lines }) => (Some(protocol), lines.unwrap_or_default()),
      None => (None, Vec::new()),
    };
    let Some(upgrade) = request::parse(first) else {
      return Ok(None);
    };
    let Ok(agreed) = self.shared.negotiate(upgrade.extensions.as_deref()) else {
      return Ok(None);
    };
    let agreed = agreed.map(|(agreed, response)| {
      headers.push(format!("Sec-WebSocket-Extensions: {response}"));
      agreed
    });
    let protocol = match &chosen_protocol {
      None => upgrade.protocol,
      Some(protocol) => protocol.as_deref(),
    };
    let Ok(response) = handshake::response(upgrade.key, protocol, &headers) else {
      return Ok(None);
    };
    let _enter = runtime::get().enter();
    let head = first[upgrade.len..].to_vec();
    let peeked = if peeked == Some(true) { first.len() } else { 0 };
    let known = match accepted.as_deref() {
      Some("tcp") => Known::Accepted(Family::Tcp),
      Some("unix") => Known::Accepted(Family::Unix),
      _ => Known::Nothing,
    };
    match self
      .shared
      .accept_fd(fd, known, peeked, head, response, agreed)
    {
      Ok(conn) => handles(&env, conn, protocol, None).map(Some),
      Err(_) => Ok(None),
    }
  }

  /// Runs a connection over a socket Node keeps (TLS, any Duplex): JavaScript feeds its bytes
  /// with `feed` and writes the engine's `BridgeWrite` events to it.
  #[napi]
  pub fn accept_bridge(&self, env: Env, head: &[u8], answer: Answer) -> Result<Unknown<'_>> {
    let (response, agreed) = self.response(answer)?;
    let (conn, bridge) = self.shared.accept_bridge(head.to_vec(), response, agreed);
    handles(&env, conn, None, Some(bridge))
  }

  /// Queues a text message on every open connection but `except`; returns how many got it.
  #[napi]
  pub fn broadcast_text(&self, data: String, except: Option<u32>) -> u32 {
    self
      .shared
      .send_message(None, Kind::Text, Bytes::from(data), except)
  }

  #[napi]
  pub fn broadcast_binary(&self, data: &[u8], except: Option<u32>) -> u32 {
    self
      .shared
      .send_message(None, Kind::Binary, Bytes::copy_from_slice(data), except)
  }

  /// Queues a text message on every subscriber of `topic` but `except`; returns the count.
  #[napi]
  pub fn publish_text(&self, topic: String, data: String, except: Option<u32>) -> u32 {
    self
      .shared
      .send_message(Some(&topic), Kind::Text, Bytes::from(data), except)
  }

  #[napi]
  pub fn publish_binary(&self, topic: String, data: &[u8], except: Option<u32>) -> u32 {
    self.shared.send_message(
      Some(&topic),
      Kind::Binary,
      Bytes::copy_from_slice(data),
      except,
    )
  }

  /// Queues `message` (from `encodeText`/`encodeBytes`) on each connection of `ids` still open,
  /// in order: a send loop's batch, one call for many connections. Returns the ids it took past
  /// the high-water mark ('drain' follows on each), or null when none.
  #[napi]
  pub fn send_shared(
    &self,
    env: Env,
    message: Unknown<'_>,
    ids: Uint32Array,
    compress: bool,
  ) -> Result<Option<Uint32Array>> {
    // SAFETY: called on the JavaScript thread with its env; `message` lives during the call.
    let message = unsafe { handle::message_of(env.raw(), message.raw()) }.ok_or_else(|| {
      invalid_arg("sendShared: not a message from encodeText or encodeBytes".into())
    })?;
    let above = self.shared.send_to(&ids, message, compress);
    Ok((!above.is_empty()).then(|| Uint32Array::new(above)))
  }

  /// Scale-out: messages not handed to Redis (queue full, or Redis down); 0 without `redis`.
  #[napi(getter)]
  pub fn redis_dropped(&self) -> f64 {
    self.shared.link.get().map_or(0.0, |l| l.dropped() as f64)
  }

  /// Scale-out: topics whose messages this node receives from Redis (its topic channels); 0
  /// without `redis`.
  #[napi(getter)]
  pub fn redis_subscriptions(&self) -> u32 {
    self
      .shared
      .link
      .get()
      .map_or(0, |l| l.subscriptions() as u32)
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
    self.shared.stop_link();
    self.tsfn = std::ptr::null_mut();
    self.shared.events.release();
  }
}

/// The accept calls' answer: the handles of the connection (see `handle::accepted`). When N-API
/// cannot make them, the connection the engine already runs is cut: JavaScript, told it failed,
/// gives the socket back to Node, which must then be its only owner.
fn handles<'a>(
  env: &Env,
  conn: Arc<Conn>,
  protocol: Option<&str>,
  bridge: Option<Arc<Bridge>>,
) -> Result<Unknown<'a>> {
  // SAFETY: called on the JavaScript thread with its env.
  unsafe {
    let value = handle::accepted(env.raw(), conn.clone(), protocol, bridge);
    if value.is_null() {
      conn.terminate();
      return Err(Error::from_reason("cannot create the connection's handle"));
    }
    Unknown::from_napi_value(env.raw(), value)
  }
}
