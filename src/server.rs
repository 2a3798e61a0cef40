//! One server's engine state: its limits, its event queue, its open connections (for broadcast),
//! its topics, and the cork list of connections with frames queued since the last flush.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

use crate::config::ServerConfig;
use crate::conn::Conn;
use crate::events::EventQueue;
use crate::frame::{self, Kind};
use crate::hub::{fan_out, Hub};
use crate::scaleout;

pub struct Shared {
  pub config: ServerConfig,
  pub events: Arc<EventQueue>,
  pub hub: Hub,
  conns: Mutex<HashMap<u32, Arc<Conn>>>,
  /// Connections whose writer is woken at the next `flush` (JavaScript thread only).
  corked: Mutex<Vec<Arc<Conn>>>,
  next_id: AtomicU32,
  /// The link to the other nodes, with the `redis` option (set once, after construction).
  pub link: OnceLock<scaleout::Handle>,
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
      link: OnceLock::new(),
    }
  }

  /// Creates and registers a connection.
  pub fn open(self: &Arc<Self>) -> Arc<Conn> {
    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
    let conn = Arc::new(Conn::new(id, self.clone()));
    self.conns.lock().unwrap().insert(id, conn.clone());
    conn
  }

  /// Forgets a closed connection: it leaves the registry and every topic.
  pub fn unregister(&self, conn: &Conn) {
    self.conns.lock().unwrap().remove(&conn.id);
    self.hub.unsubscribe_all(&conn.take_topics(), conn.id);
  }

  /// Defers waking `conn`'s writer to the next flush, so that every frame queued while
  /// JavaScript runs leaves in one burst.
  pub fn cork(&self, conn: &Arc<Conn>) {
    if !conn.corked.swap(true, Ordering::AcqRel) {
      self.corked.lock().unwrap().push(conn.clone());
    }
  }

  /// Writes out every corked connection's frames (see `Conn::flush`).
  pub fn flush(&self) {
    let corked = std::mem::take(&mut *self.corked.lock().unwrap());
    for conn in corked {
      conn.corked.store(false, Ordering::Release);
      conn.flush();
    }
  }

  /// Queues one encoded frame on every open connection but `except`; returns how many got it.
  pub fn broadcast(&self, frame: &Bytes, except: Option<u32>) -> u32 {
    self.broadcast_with(frame, except, |c| self.cork(c))
  }

  /// As `broadcast`, waking writers through `wake` (the scale-out task wakes them at once).
  pub fn broadcast_with(
    &self,
    frame: &Bytes,
    except: Option<u32>,
    wake: impl FnMut(&Arc<Conn>),
  ) -> u32 {
    let conns = self.conns.lock().unwrap();
    fan_out(conns.values(), frame, except, wake)
  }

  /// Frames one message with this server's fragmentation threshold.
  pub fn encode(&self, kind: Kind, data: &[u8]) -> Bytes {
    frame::encode(kind, data, self.config.fragmentation_threshold)
  }

  /// A message from this node's JavaScript, to `topic`'s subscribers or (None) to everyone:
  /// framed once and queued locally now, and handed to the link for the other nodes. `except`
  /// is a local connection, so it applies here only. Returns the local count.
  pub fn send_message(
    &self,
    topic: Option<&str>,
    kind: Kind,
    data: &[u8],
    except: Option<u32>,
  ) -> u32 {
    let frame = self.encode(kind, data);
    let sent = match topic {
      Some(topic) => self.publish(topic, &frame, except),
      None => self.broadcast(&frame, except),
    };
    if let Some(link) = self.link.get() {
      link.forward(topic, kind, data);
    }
    sent
  }

  /// Queues one encoded frame on every subscriber of `topic` but `except`.
  pub fn publish(&self, topic: &str, frame: &Bytes, except: Option<u32>) -> u32 {
    self.hub.publish(topic, frame, except, |c| self.cork(c))
  }

  /// Subscribes an open connection to `topic`; false when already subscribed or closed.
  pub fn subscribe(&self, conn: &Arc<Conn>, topic: &str) -> bool {
    conn.add_topic(topic) && self.hub.subscribe(topic, conn)
  }

  pub fn unsubscribe(&self, conn: &Conn, topic: &str) -> bool {
    conn.remove_topic(topic) && self.hub.unsubscribe(topic, conn.id)
  }
}
