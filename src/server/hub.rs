//! Topics: which connections subscribe to what, and the fan-out that publish and broadcast share.
//!
//! A published payload is framed once (and compressed at most once more); every receiver's queue
//! gets a clone of the same `Bytes` handle (a reference count, not a copy). An empty topic is
//! removed at once, so millions of short-lived topics leave nothing behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::conn::deflate::Outgoing;
use crate::conn::{Conn, SendStatus};
use crate::server::by_id::ById;

/// Queues `message` on each connection but `except` (compressed where agreed, if `compress`),
/// handing each that took it, with its status, to `queued` (which corks its writer); returns
/// how many took it. Slow receivers are handled by their own backpressure limit
/// (`push_frame`), so one of them never holds back the rest.
pub fn fan_out<'a>(
  conns: impl Iterator<Item = &'a Arc<Conn>>,
  message: &Arc<Outgoing>,
  except: Option<u32>,
  compress: bool,
  mut queued: impl FnMut(&Arc<Conn>, SendStatus),
) -> u32 {
  let mut sent = 0;
  for conn in conns {
    if Some(conn.id) == except {
      continue;
    }
    let status = conn.push_outgoing(message, compress);
    if status != SendStatus::NotOpen {
      sent += 1;
      queued(conn, status);
    }
  }
  sent
}

/// What a subscribe or unsubscribe did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
  /// Nothing: already subscribed, or not subscribed.
  None,
  /// Done; `edge` when it was the topic's first subscriber, or its last.
  Done { edge: bool },
}

/// A topic's subscribers by connection id.
type Subscribers = ById<Arc<Conn>>;

#[derive(Default)]
pub struct Hub {
  topics: Mutex<HashMap<Box<str>, Subscribers>>,
}

impl Hub {
  /// Adds `conn` to `topic`.
  pub fn subscribe(&self, topic: &str, conn: &Arc<Conn>) -> Change {
    let mut topics = self.topics.lock().unwrap();
    let subscribers = topics.entry(topic.into()).or_default();
    let first = subscribers.is_empty();
    match subscribers.insert(conn.id, conn.clone()) {
      Some(_) => Change::None,
      None => Change::Done { edge: first },
    }
  }

  /// Removes `id` from `topic`.
  pub fn unsubscribe(&self, topic: &str, id: u32) -> Change {
    let mut topics = self.topics.lock().unwrap();
    let Some(subscribers) = topics.get_mut(topic) else {
      return Change::None;
    };
    if subscribers.remove(&id).is_none() {
      return Change::None;
    }
    let last = subscribers.is_empty();
    if last {
      topics.remove(topic);
    }
    Change::Done { edge: last }
  }

  /// Whether `topic` has a subscriber.
  pub fn has(&self, topic: &str) -> bool {
    self.topics.lock().unwrap().contains_key(topic)
  }

  /// Every topic with a subscriber.
  pub fn names(&self) -> Vec<Box<str>> {
    self.topics.lock().unwrap().keys().cloned().collect()
  }

  pub fn subscribers(&self, topic: &str) -> u32 {
    let topics = self.topics.lock().unwrap();
    topics.get(topic).map_or(0, |s| s.len() as u32)
  }

  pub fn topic_count(&self) -> usize {
    self.topics.lock().unwrap().len()
  }

  /// Queues `message` on every subscriber of `topic` but `except`.
  pub fn publish(
    &self,
    topic: &str,
    message: &Arc<Outgoing>,
    except: Option<u32>,
    queued: impl FnMut(&Arc<Conn>, SendStatus),
  ) -> u32 {
    let topics = self.topics.lock().unwrap();
    match topics.get(topic) {
      Some(subscribers) => fan_out(subscribers.values(), message, except, true, queued),
      None => 0,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::config::ServerConfig;
  use crate::conn::Host;
  use crate::protocol::frame::Kind;
  use crate::server::events::EventQueue;
  use crate::server::Shared;
  use bytes::Bytes;

  fn server() -> Arc<Shared> {
    Arc::new(Shared::new(
      ServerConfig::default(),
      Arc::new(EventQueue::default()),
    ))
  }

  #[test]
  fn an_empty_topic_is_freed() {
    let server = server();
    let (a, b) = (server.open(Vec::new(), None), server.open(Vec::new(), None));
    assert_eq!(
      server.hub.subscribe("room", &a),
      Change::Done { edge: true }
    );
    assert_eq!(server.hub.subscribe("room", &a), Change::None);
    assert_eq!(
      server.hub.subscribe("room", &b),
      Change::Done { edge: false }
    );
    assert_eq!(server.hub.subscribers("room"), 2);
    assert_eq!(
      server.hub.unsubscribe("room", a.id),
      Change::Done { edge: false }
    );
    assert_eq!(
      server.hub.unsubscribe("room", b.id),
      Change::Done { edge: true }
    );
    assert_eq!(server.hub.unsubscribe("room", b.id), Change::None);
    assert_eq!(server.hub.topic_count(), 0);
  }

  #[test]
  fn publish_skips_the_sender_and_shares_one_frame() {
    let server = server();
    let (a, b) = (server.open(Vec::new(), None), server.open(Vec::new(), None));
    server.subscribe(&a, "t");
    server.subscribe(&b, "t");
    let message = Arc::new(Outgoing::new(Kind::Text, Bytes::from_static(b"x")));
    assert_eq!(server.publish("t", &message, Some(a.id)), 1);
    assert_eq!((a.out.buffered(), b.out.buffered()), (0, 3));
    assert_eq!(server.publish("nobody", &message, None), 0);
  }

  #[test]
  fn a_closed_connection_leaves_every_topic_and_cannot_rejoin() {
    let server = server();
    let conn = server.open(Vec::new(), None);
    for topic in ["a", "b", "c"] {
      server.subscribe(&conn, topic);
    }
    conn.set_closed();
    server.closed(&conn, 1000, "");
    assert_eq!(server.hub.topic_count(), 0);
    assert!(!server.subscribe(&conn, "a"));
    assert_eq!(server.hub.topic_count(), 0);
  }
}
