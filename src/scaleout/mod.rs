//! Scale-out: one server's link to Redis, so that `publish` and `broadcast` reach the clients of
//! every node (process or machine) sharing a prefix.
//!
//! Every message sent from JavaScript is also published, as a binary envelope: a broadcast on the
//! prefix's broadcast channel, a publish on its topic's channel (`channels.rs`). Each node
//! subscribes to the broadcast channel, and to a topic's channel only while one of its
//! connections subscribes to the topic (interest-based routing: a node receives nothing for
//! topics it cannot deliver). It fans out what the other nodes sent through the same hub as local
//! messages, without entering JavaScript; its own messages come back too and are dropped by node
//! id. Subscription changes are batched (`BATCH_DELAY`), so churn that undoes itself costs Redis
//! nothing, and restored after a reconnect before `redisReady`. Local delivery never waits on
//! Redis: envelopes reach the publishing task through a bounded queue that drops its oldest entry
//! when full. Redis pub/sub is at-most-once, and so is this link: nothing is replayed after an
//! outage, and a node receives a topic's messages from the moment its subscription reaches
//! Redis (a few milliseconds after the first local subscriber joins). Messages from one node keep
//! their order (per topic on a Redis Cluster, whose shards deliver independently). One Redis or a
//! cluster (`Deployment`) differ only in their session's two connections (`single.rs`,
//! `cluster.rs`). The server sees only the `server::Link` trait, which `Handle` implements.

pub mod channels;
mod cluster;
pub mod envelope;
pub mod publish_queue;
mod single;
mod task;

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{watch, Notify};

use crate::conn::deflate::Outgoing;
use crate::protocol::frame::Kind;
use crate::runtime;
use crate::scaleout::envelope::{Envelope, NodeId};
use crate::scaleout::publish_queue::PublishQueue;
use crate::scaleout::task::{Target, Task};
use crate::server::{self, Shared};

/// The channel prefix when the application gives none.
pub const DEFAULT_PREFIX: &str = "ferrows";

/// Reconnect delays: 100 ms doubling up to 5 s.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// What the JavaScript thread and the link's task share.
struct Link {
  node: NodeId,
  prefix: String,
  queue: PublishQueue,
  /// Topics whose local interest changed since the task last looked.
  changed: Mutex<HashSet<Box<str>>>,
  interest: Notify,
  /// Topic channels subscribed in Redis now.
  subscribed: AtomicUsize,
}

/// A running link, owned by its server; dropping it (or `stop`) ends the task.
pub struct Handle {
  link: Arc<Link>,
  stop: watch::Sender<bool>,
}

impl server::Link for Handle {
  /// Queues a message from this node for the others. `topic` None is a broadcast.
  fn forward(&self, topic: Option<&str>, kind: Kind, payload: &[u8]) {
    let envelope = Envelope {
      node: self.link.node,
      topic,
      kind,
      payload,
    };
    self.link.queue.push(envelope.encode());
  }

  fn interest(&self, topic: &str) {
    self.link.changed.lock().unwrap().insert(topic.into());
    self.link.interest.notify_one();
  }

  /// Messages not published because the queue was full or Redis was down.
  fn dropped(&self) -> u64 {
    self.link.queue.dropped()
  }

  fn subscriptions(&self) -> usize {
    self.link.subscribed.load(Ordering::Relaxed)
  }

  fn stop(&self) {
    let _ = self.stop.send(true);
  }
}

/// The Redis deployment the nodes share.
pub enum Deployment<'a> {
  /// One Redis (or a primary), by URL.
  Single(&'a str),
  /// A Redis Cluster, by the URLs of some of its nodes (the rest are discovered).
  Cluster(&'a [String]),
}

/// Checks the deployment and starts the link's task; the first connection is made in the
/// background (its failure is reported as an event, never thrown).
pub fn start(shared: &Arc<Shared>, deployment: Deployment, prefix: &str) -> Result<Handle, String> {
  if prefix.is_empty() {
    return Err("The \"redisPrefix\" option must not be empty".into());
  }
  let unusable =
    |e: redis::RedisError| format!("The \"redis\" option is not a usable Redis URL: {e}");
  let (target, place) = match deployment {
    Deployment::Single(url) => (
      Target::Single(redis::Client::open(url).map_err(unusable)?),
      redact(url),
    ),
    Deployment::Cluster(urls) => {
      if urls.is_empty() {
        return Err("The \"redis.cluster\" option must name at least one node".into());
      }
      let nodes = urls
        .iter()
        .map(|url| redis::IntoConnectionInfo::into_connection_info(url.as_str()).map_err(unusable))
        .collect::<Result<_, _>>()?;
      let named: Vec<String> = urls.iter().map(|url| redact(url)).collect();
      (
        Target::Cluster(cluster::Seeds::new(nodes)),
        format!("the cluster of {}", named.join(", ")),
      )
    }
  };
  let link = Arc::new(Link {
    node: random_node_id(),
    prefix: prefix.to_string(),
    queue: PublishQueue::default(),
    changed: Mutex::default(),
    interest: Notify::new(),
    subscribed: AtomicUsize::new(0),
  });
  let (stop, stopped) = watch::channel(false);
  let task = Task {
    link: link.clone(),
    shared: Arc::downgrade(shared),
    events: shared.events.clone(),
    target,
    place,
  };
  runtime::get().spawn(task.supervise(stopped));
  Ok(Handle { link, stop })
}

/// The URL without its password, for messages: nor its query, where a Unix socket's URL
/// carries it (`redis+unix:///path?pass=...`).
fn redact(url: &str) -> String {
  let url = url.split_once('?').map_or(url, |(place, _)| place);
  match (url.find("://"), url.rfind('@')) {
    (Some(scheme), Some(at)) if at > scheme => format!("{}***{}", &url[..scheme + 3], &url[at..]),
    _ => url.to_string(),
  }
}

/// Random per server instance (std's hasher keys come from the OS's random source).
fn random_node_id() -> NodeId {
  let mut id = [0; 16];
  let nanos = std::time::SystemTime::now()
    .duration_since(std::time::UNIX_EPOCH)
    .map_or(0, |d| d.as_nanos());
  for (i, half) in id.chunks_mut(8).enumerate() {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(i);
    h.write_u32(std::process::id());
    h.write_u128(nanos);
    half.copy_from_slice(&h.finish().to_le_bytes());
  }
  id
}

fn backoff(attempt: u32) -> Duration {
  BACKOFF_FIRST
    .saturating_mul(1 << attempt.saturating_sub(1).min(16))
    .min(BACKOFF_MAX)
}

/// Queues a message from another node on the local connections it is for, corked: the task
/// flushes them once per burst from Redis (`Shared::flush`), so a connection receiving several
/// messages of a burst gets them in one write.
pub fn deliver(shared: &Shared, node: &NodeId, bytes: &[u8]) -> u32 {
  let Some(message) = Envelope::decode(bytes) else {
    return 0;
  };
  if message.node == *node {
    return 0;
  }
  let outgoing = Arc::new(Outgoing::new(
    message.kind,
    Bytes::copy_from_slice(message.payload),
  ));
  match message.topic {
    Some(topic) => shared.publish(topic, &outgoing, None),
    None => shared.broadcast(&outgoing, None),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn deliver_fans_out_other_nodes_messages_only() {
    use crate::config::ServerConfig;
    let shared = Arc::new(Shared::new(ServerConfig::default(), Arc::default()));
    let (a, b) = (shared.open(Vec::new(), None), shared.open(Vec::new(), None));
    shared.subscribe(&a, "room");
    let from = |node: NodeId, topic| Envelope {
      node,
      topic,
      kind: Kind::Binary,
      payload: b"xy",
    };
    let me = [1; 16];
    assert_eq!(
      deliver(&shared, &me, &from([2; 16], Some("room")).encode()),
      1
    );
    assert_eq!((a.out.buffered(), b.out.buffered()), (4, 0));
    assert_eq!(deliver(&shared, &me, &from(me, None).encode()), 0);
    assert_eq!(deliver(&shared, &me, &from([2; 16], None).encode()), 2);
    assert_eq!(deliver(&shared, &me, b"garbage"), 0);
  }

  #[test]
  fn backoff_doubles_up_to_five_seconds() {
    let ms: Vec<u128> = (1..=8).map(|a| backoff(a).as_millis()).collect();
    assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
  }

  #[test]
  fn urls_lose_their_password_in_messages() {
    assert_eq!(redact("redis://:pw@h:1/0"), "redis://***@h:1/0");
    assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    assert_eq!(
      redact("redis+unix:///tmp/r.sock?db=1&pass=TOPSECRET"),
      "redis+unix:///tmp/r.sock"
    );
    assert_ne!(random_node_id(), random_node_id());
  }
}
