//! One server's engine state: its limits, its event queue, its open connections (for broadcast),
//! its topics, and the cork list of connections with frames queued since the last flush.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::config::ServerConfig;
use crate::conn::Conn;
use crate::events::EventQueue;
use crate::hub::{fan_out, Hub};

pub struct Shared {
  pub config: ServerConfig,
  pub events: Arc<EventQueue>,
  pub hub: Hub,
  conns: Mutex<HashMap<u32, Arc<Conn>>>,
  /// Connections whose writer is woken at the next `flush` (JavaScript thread only).
  corked: Mutex<Vec<Arc<Conn>>>,
  next_id: AtomicU32,
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

  /// Wakes the writer of every corked connection.
  pub fn flush(&self) {
    let corked = std::mem::take(&mut *self.corked.lock().unwrap());
    for conn in corked {
      conn.corked.store(false, Ordering::Release);
      conn.out.wake();
    }
  }

  /// Queues one encoded frame on every open connection but `except`; returns how many got it.
  pub fn broadcast(&self, frame: &Bytes, except: Option<u32>) -> u32 {
    let conns = self.conns.lock().unwrap();
    fan_out(conns.values(), frame, except, |c| self.cork(c))
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
