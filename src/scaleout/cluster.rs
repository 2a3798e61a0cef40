//! Redis Cluster: sharded pub/sub (Redis 7). A channel lives on the shard that owns its slot, so
//! topics spread over the shards and each shard carries only the messages of its own topics; the
//! broadcast channel lives on one shard. The `redis` crate's cluster connection keeps the slot
//! map and a connection per shard, follows MOVED, and hands pushes (RESP3) to a channel.
//!
//! A shard that disconnects, or a slot that moves (Redis then drops its channels' subscribers),
//! ends the session like a lost single Redis: the task reconnects and subscribes afresh, at the
//! slots' current owners. A session starts from the nodes named and those the last session
//! found (`Seeds`), so one named node taken away by a failover does not keep the link down.

use std::collections::HashMap;
use std::sync::Mutex;

use futures_util::future::{join_all, try_join_all};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{
  ConnectionAddr, ConnectionInfo, ProtocolVersion, PushInfo, PushKind, RedisResult, Value,
};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::scaleout::task::{answered, Incoming, Publisher, Subscriber, RESPONSE_TIMEOUT};

/// Retries of a command inside the crate (MOVED, a reconnecting shard) before it fails and the
/// session starts over.
const RETRIES: u32 = 2;

/// How long a node may take to accept a connection. The crate waits for every seed before it
/// goes on, so a seed whose host is gone costs each session this, within `CONNECT_TIMEOUT`.
const NODE_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Sends of a publish pipeline that cluster redirects refuse before the session starts over,
/// and the pause between them: about 2 s in all.
const REDIRECTED_PUBLISHES: u32 = 20;
const REDIRECT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

pub(super) struct Cluster {
  conn: ClusterConnection,
  pushes: UnboundedReceiver<PushInfo>,
}

pub(super) struct ClusterPublisher(ClusterConnection);

/// Where sessions start: the nodes named in the options, then those the cluster listed to the
/// last session that asked.
pub(super) struct Seeds {
  named: Vec<ConnectionInfo>,
  found: Mutex<Vec<ConnectionInfo>>,
}

impl Seeds {
  pub(super) fn new(named: Vec<ConnectionInfo>) -> Self {
    Seeds {
      named,
      found: Mutex::default(),
    }
  }

  fn all(&self) -> Vec<ConnectionInfo> {
    let mut all = self.named.clone();
    for node in self.found.lock().unwrap().iter() {
      if !all.iter().any(|n| same_addr(n.addr(), node.addr())) {
        all.push(node.clone());
      }
    }
    all
  }

  /// Keeps the nodes the cluster knows now (`CLUSTER NODES`, those not failing), shaped like the
  /// first named one (its password and database). Not finding them costs nothing but that.
  async fn learn(&self, conn: &mut ClusterConnection) {
    let Ok(listing) = answered(
      redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async::<String>(conn),
    )
    .await
    else {
      return;
    };
    let like = &self.named[0];
    let found = listed_nodes(&listing)
      .map(|(host, port)| {
        like
          .clone()
          .set_addr(ConnectionAddr::Tcp(host.into(), port))
      })
      .collect();
    *self.found.lock().unwrap() = found;
  }
}

fn same_addr(a: &ConnectionAddr, b: &ConnectionAddr) -> bool {
  match (a, b) {
    (ConnectionAddr::Tcp(host, port), ConnectionAddr::Tcp(other, other_port)) => {
      host == other && port == other_port
    }
    _ => false,
  }
}

/// The host and port of each node of a `CLUSTER NODES` listing (`<id> <ip:port@bus[,name]>
/// <flags> ...`) that is neither failing nor without an address yet.
fn listed_nodes(listing: &str) -> impl Iterator<Item = (&str, u16)> {
  listing.lines().filter_map(|line| {
    let mut fields = line.split(' ');
    let address = fields.nth(1)?;
    let flags = fields.next()?;
    if flags
      .split(',')
      .any(|f| f.starts_with("fail") || f == "noaddr" || f == "handshake")
    {
      return None;
    }
    let (host, port) = address.split('@').next()?.rsplit_once(':')?;
    Some((host, port.parse().ok()?)).filter(|(host, _)| !host.is_empty())
  })
}

/// A subscriber connection (RESP3, pushes into a channel) and a publishing one, from `seeds`,
/// which then learn the cluster's nodes.
pub(super) async fn connect(seeds: &Seeds) -> RedisResult<(Cluster, ClusterPublisher)> {
  let nodes = seeds.all();
  let builder = || {
    ClusterClientBuilder::new(nodes.clone())
      .connection_timeout(NODE_CONNECT_TIMEOUT)
      .response_timeout(RESPONSE_TIMEOUT)
      .retries(RETRIES)
  };
  let (pushed, pushes) = unbounded_channel();
  let subscriber = builder()
    .use_protocol(ProtocolVersion::RESP3)
    .push_sender(pushed)
    .build()?
    .get_async_connection()
    .await?;
  let mut publisher = builder().build()?.get_async_connection().await?;
  seeds.learn(&mut publisher).await;
  Ok((
    Cluster {
      conn: subscriber,
      pushes,
    },
    ClusterPublisher(publisher),
  ))
}

impl Cluster {
  /// One command per channel, all in flight at once: a sharded command's channels must share a
  /// slot, and each is routed to its own shard.
  async fn each(&self, channels: Vec<String>, subscribe: bool) -> RedisResult<()> {
    let commands = channels.into_iter().map(|channel| {
      let mut conn = self.conn.clone();
      async move {
        if subscribe {
          conn.ssubscribe(channel).await
        } else {
          conn.sunsubscribe(channel).await
        }
      }
    });
    answered(try_join_all(commands)).await.map(drop)
  }
}

impl Subscriber for Cluster {
  async fn subscribe(&mut self, channels: Vec<String>) -> RedisResult<()> {
    self.each(channels, true).await
  }

  async fn unsubscribe(&mut self, channels: Vec<String>) -> RedisResult<()> {
    self.each(channels, false).await
  }

  /// PING goes to every primary.
  async fn ping(&mut self) -> RedisResult<()> {
    answered(redis::cmd("PING").query_async::<Value>(&mut self.conn))
      .await
      .map(drop)
  }

  async fn next(&mut self) -> Incoming {
    while let Some(push) = self.pushes.recv().await {
      let mut data = push.data.into_iter();
      match (push.kind, data.next()) {
        (PushKind::SMessage, _) => {
          if let Some(Value::BulkString(payload)) = data.next() {
            return Incoming::Message(payload);
          }
        }
        (PushKind::SUnsubscribe, Some(Value::BulkString(channel))) => {
          return Incoming::Dropped(channel)
        }
        (PushKind::Disconnection, _) => {
          return Incoming::Lost("a cluster node's connection closed".into())
        }
        _ => {}
      }
    }
    Incoming::Lost("cluster connection closed".into())
  }
}

impl Publisher for ClusterPublisher {
  /// A pipeline per channel (a pipeline's commands must share a slot), all in flight at once;
  /// each keeps its messages' order. A pipeline refused with a cluster redirect (MOVED, ASK,
  /// TRYAGAIN, CLUSTERDOWN: a shard back from a restart answers so while the slot map settles,
  /// and the crate does not follow it inside a pipeline) is sent again, whole, after a pause:
  /// its slot refused every command of it, so none goes twice.
  async fn publish(&mut self, batch: Vec<(String, Vec<u8>)>) -> RedisResult<()> {
    let mut pipes: HashMap<String, redis::Pipeline> = HashMap::new();
    for (channel, envelope) in batch {
      let pipe = pipes.entry(channel.clone()).or_insert_with(redis::pipe);
      pipe.cmd("SPUBLISH").arg(channel).arg(envelope).ignore();
    }
    let mut pending: Vec<redis::Pipeline> = pipes.into_values().collect();
    for attempt in 1.. {
      let sends = pending.iter().map(|pipe| {
        let mut conn = self.0.clone();
        async move { pipe.query_async::<()>(&mut conn).await }
      });
      let results = join_all(sends).await;
      let mut again = Vec::new();
      for (pipe, result) in pending.into_iter().zip(results) {
        match result {
          Ok(()) => {}
          Err(e) if e.is_cluster_error() && attempt < REDIRECTED_PUBLISHES => again.push(pipe),
          Err(e) => return Err(e),
        }
      }
      if again.is_empty() {
        break;
      }
      tokio::time::sleep(REDIRECT_PAUSE).await;
      pending = again;
    }
    Ok(())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_listing_gives_the_nodes_that_are_not_failing() {
    let listing = "\
07c3 127.0.0.1:30004@40004 master - 0 1 4 connected 0-5460
67ed 127.0.0.1:30001@40001,redis-1 myself,master - 0 0 1 connected 5461-10922
292f 127.0.0.1:30002@40002 master,fail - 1 1 2 disconnected
e7d1 :0@0 slave,noaddr 07c3 0 0 0 disconnected
6ec2 10.0.0.3:30003@40003 slave,fail? 07c3 0 0 3 connected
";
    let nodes: Vec<_> = listed_nodes(listing).collect();
    assert_eq!(nodes, [("127.0.0.1", 30004), ("127.0.0.1", 30001)]);
  }
}
