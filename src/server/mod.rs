//! One server's engine state: its limits, its event queue, its open connections (for broadcast),
//! its topics, the cork list of connections with frames queued since the last flush, and the two
//! ways a connection starts (an adopted descriptor, or the byte bridge).

pub mod by_id;
pub mod events;
pub mod hub;
pub mod keepalive;

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};

use bytes::Bytes;

use crate::config::ServerConfig;
use crate::conn::deflate::{ConnDeflate, Outgoing};
use crate::conn::writer::WriteSide;
use crate::conn::{session, Conn, Event, Host, Inbound, SendStatus};
use crate::io::bridge::Bridge;
use crate::io::handoff::{self, Known};
use crate::io::peek;
use crate::protocol::extension::{self, Agreed, Malformed};
use crate::protocol::frame::Kind;
use crate::server::by_id::ById;
use crate::server::events::{EventKind, EventQueue};
use crate::server::hub::{fan_out, Change, Hub};

/// The link to the other nodes of an application (`scaleout`), as the server uses it.
pub trait Link: Send + Sync {
  /// Hands a message sent here to the other nodes; `topic` None is a broadcast.
  fn forward(&self, topic: Option<&str>, kind: Kind, data: &[u8]);
  /// `topic` gained its first local subscriber or lost its last: the link follows the hub.
  fn interest(&self, topic: &str);
  /// Messages not handed on (the link's queue was full, or it was down).
  fn dropped(&self) -> u64;
  /// Topics whose messages the link currently receives from the other nodes.
  fn subscriptions(&self) -> usize;
  /// Ends the link.
  fn stop(&self);
}

pub struct Shared {
  pub config: ServerConfig,
  pub events: Arc<EventQueue>,
  pub hub: Hub,
  conns: Mutex<ById<Arc<Conn>>>,
  /// Connections whose writer is woken at the next `flush` (JavaScript thread only).
  corked: Mutex<Vec<Arc<Conn>>>,
  next_id: AtomicU32,
  /// Starts the keepalive sweep with the first connection.
  keepalive: Once,
  /// The link to the other nodes, with the `redis` option (set once, after construction).
  pub link: OnceLock<Box<dyn Link>>,
}

impl Host for Shared {
  fn config(&self) -> &ServerConfig {
    &self.config
  }

  fn inbound(&self, conn: &Arc<Conn>, payload: Inbound<'_>, credit: u32) {
    match payload {
      Inbound::Text(text) => self.events.text(conn, text, credit),
      Inbound::Binary(data) => self.events.binary(EventKind::Binary, conn, data, credit),
      Inbound::Ping(data) => self.events.binary(EventKind::Ping, conn, data, credit),
      Inbound::Pong(data) => self.events.binary(EventKind::Pong, conn, data, credit),
    }
  }

  fn event(&self, conn: &Conn, event: Event<'_>) {
    match event {
      Event::Drain => self.events.signal(EventKind::Drain, conn.id),
      Event::Written => self.events.signal(EventKind::Written, conn.id),
      Event::PeerClose => self.events.signal(EventKind::PeerClose, conn.id),
      Event::Error(failure) => self.events.error(conn.id, failure),
    }
  }

  /// Defers waking `conn`'s writer to the next flush, so that every frame queued while
  /// JavaScript runs leaves in one burst.
  fn cork(&self, conn: &Arc<Conn>) {
    if !conn.corked.swap(true, Ordering::AcqRel) {
      self.corked.lock().unwrap().push(conn.clone());
    }
  }

  /// Forgets a closed connection (it leaves the registry and every topic), then tells
  /// JavaScript.
  fn closed(&self, conn: &Conn, code: u16, reason: &str) {
    self.conns.lock().unwrap().remove(&conn.id);
    for topic in conn.take_topics() {
      self.leave(&topic, conn.id);
    }
    self.events.close(conn.id, code, reason);
  }

  fn hurry(&self) {
    self.events.hurry();
  }
}

impl Shared {
  pub fn new(config: ServerConfig, events: Arc<EventQueue>) -> Self {
    Shared {
      config,
      events,
      hub: Hub::default(),
      conns: Mutex::default(),
      corked: Mutex::default(),
      next_id: AtomicU32::new(1),
      keepalive: Once::new(),
      link: OnceLock::new(),
    }
  }

  /// The answer to a client's `Sec-WebSocket-Extensions` header: permessage-deflate's agreed
  /// parameters and the response header's value, or None (no compression: not enabled, not
  /// offered, or no offer acceptable).
  pub fn negotiate(&self, header: Option<&str>) -> Result<Option<(Agreed, String)>, Malformed> {
    match (&self.config.deflate, header) {
      (Some(deflate), Some(header)) => extension::negotiate(header, &deflate.policy),
      _ => Ok(None),
    }
  }

  /// Creates and registers a connection whose first bytes out are `response` (its `101`),
  /// ahead of anything JavaScript sends; `agreed`: the permessage-deflate it negotiated.
  pub fn open(self: &Arc<Self>, response: Vec<u8>, agreed: Option<Agreed>) -> Arc<Conn> {
    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
    let host: Arc<dyn Host> = self.clone();
    let deflate = self
      .config
      .deflate
      .as_ref()
      .zip(agreed)
      .map(|(config, agreed)| ConnDeflate::new(config, agreed));
    let conn = Arc::new(Conn::new(id, host, deflate));
    if !response.is_empty() {
      let _ = conn.out.push(Bytes::from(response));
    }
    self.conns.lock().unwrap().insert(id, conn.clone());
    self.keepalive.call_once(|| {
      if let Some(period) = keepalive::period(&self.config) {
        crate::runtime::get().spawn(keepalive::sweep(Arc::downgrade(self), period));
      }
    });
    conn
  }

  /// Calls `f` with every open connection, under the registry's lock.
  pub fn for_each_conn(&self, mut f: impl FnMut(&Arc<Conn>)) {
    for conn in self.conns.lock().unwrap().values() {
      f(conn);
    }
  }

  /// Takes over the upgraded socket `fd` (TCP or Unix): runs a connection over `head` (the bytes
  /// already read past the request) and the socket, and writes its `response` at once from the
  /// calling thread unless the socket cannot take it. `peeked` bytes the client sent are still
  /// in the socket (the intake looked without taking them) and are dropped first: they are the
  /// request and `head`. Must run inside the runtime's context.
  pub fn accept_fd(
    self: &Arc<Self>,
    fd: i32,
    known: Known,
    peeked: usize,
    head: Vec<u8>,
    response: Vec<u8>,
    agreed: Option<Agreed>,
  ) -> io::Result<Arc<Conn>> {
    let socket = handoff::adopt(fd, known, self.config.no_delay)?;
    if peeked > 0 {
      peek::discard(fd, peeked)?;
    }
    let conn = self.open(response, agreed);
    session::start(conn.clone(), socket, head);
    conn.flush();
    Ok(conn)
  }

  /// Runs a connection over a socket JavaScript keeps (TLS, any Duplex): it feeds the socket's
  /// bytes to the returned bridge and writes the bridge's events to the socket.
  pub fn accept_bridge(
    self: &Arc<Self>,
    head: Vec<u8>,
    response: Vec<u8>,
    agreed: Option<Agreed>,
  ) -> (Arc<Conn>, Arc<Bridge>) {
    let conn = self.open(response, agreed);
    let bridge = Bridge::new(conn.id, self.events.clone());
    let (read, write) = bridge.halves();
    let write = WriteSide::new(conn.clone(), write, None);
    crate::runtime::get().spawn(session::run(conn.clone(), read, write, head));
    (conn, bridge)
  }

  /// Writes out every corked connection's frames (see `Conn::flush`).
  pub fn flush(&self) {
    let corked = std::mem::take(&mut *self.corked.lock().unwrap());
    for conn in corked {
      conn.corked.store(false, Ordering::Release);
      conn.flush();
    }
  }

  /// Queues `message` on every open connection but `except`; returns how many got it.
  pub fn broadcast(&self, message: &Arc<Outgoing>, except: Option<u32>) -> u32 {
    let conns = self.conns.lock().unwrap();
    fan_out(conns.values(), message, except, true, |c, _| self.cork(c))
  }

  /// Queues `message` on each open connection of `ids`, in order (a send loop's batch from
  /// JavaScript); returns those it took past the high-water mark, whose sends, made one by one,
  /// would have said so.
  pub fn send_to(&self, ids: &[u32], message: &Arc<Outgoing>, compress: bool) -> Vec<u32> {
    let conns = self.conns.lock().unwrap();
    let targets = ids.iter().filter_map(|id| conns.get(id));
    let mut above = Vec::new();
    fan_out(targets, message, None, compress, |c, status| {
      self.cork(c);
      if status == SendStatus::AboveHighWater {
        above.push(c.id);
      }
    });
    above
  }

  /// A message from this node's JavaScript, to `topic`'s subscribers or (None) to everyone:
  /// queued locally now (framed once, compressed at most once), and handed to the link for the
  /// other nodes. `except` is a local connection, so it applies here only. Returns the local
  /// count.
  pub fn send_message(
    &self,
    topic: Option<&str>,
    kind: Kind,
    data: Bytes,
    except: Option<u32>,
  ) -> u32 {
    let message = Arc::new(Outgoing::new(kind, data));
    let sent = match topic {
      Some(topic) => self.publish(topic, &message, except),
      None => self.broadcast(&message, except),
    };
    if let Some(link) = self.link.get() {
      link.forward(topic, kind, &message.payload);
    }
    sent
  }

  /// Queues `message` on every subscriber of `topic` but `except`.
  pub fn publish(&self, topic: &str, message: &Arc<Outgoing>, except: Option<u32>) -> u32 {
    self
      .hub
      .publish(topic, message, except, |c, _| self.cork(c))
  }

  /// Subscribes an open connection to `topic`; false when already subscribed or closed.
  pub fn subscribe(&self, conn: &Arc<Conn>, topic: &str) -> bool {
    if !conn.add_topic(topic) {
      return false;
    }
    let change = self.hub.subscribe(topic, conn);
    self.follow(topic, change);
    change != Change::None
  }

  pub fn unsubscribe(&self, conn: &Conn, topic: &str) -> bool {
    conn.remove_topic(topic) && self.leave(topic, conn.id)
  }

  fn leave(&self, topic: &str, id: u32) -> bool {
    let change = self.hub.unsubscribe(topic, id);
    self.follow(topic, change);
    change != Change::None
  }

  /// Tells the link when a topic gained its first subscriber or lost its last.
  fn follow(&self, topic: &str, change: Change) {
    if change == (Change::Done { edge: true }) {
      if let Some(link) = self.link.get() {
        link.interest(topic);
      }
    }
  }

  /// Ends the link to the other nodes, if any.
  pub fn stop_link(&self) {
    if let Some(link) = self.link.get() {
      link.stop();
    }
  }
}
