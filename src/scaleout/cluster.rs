//! Redis Cluster: sharded pub/sub (Redis 7). A channel lives on the shard that owns its slot, so
//! topics spread over the shards and each shard carries only the messages of its own topics; the
//! broadcast channel lives on one shard. The `redis` crate's cluster connection keeps the slot
//! map and a connection per shard, follows MOVED, and hands pushes (RESP3) to a channel.
//!
//! A shard that disconnects, or a slot that moves (Redis then drops its channels' subscribers),
//! ends the session like a lost single Redis: the task reconnects and subscribes afresh, at the
//! slots' current owners.

use std::collections::HashMap;

use futures_util::future::try_join_all;
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{ConnectionInfo, ProtocolVersion, PushInfo, PushKind, RedisResult, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::scaleout::task::{
  answered, Incoming, Publisher, Subscriber, CONNECT_TIMEOUT, RESPONSE_TIMEOUT,
};

/// Retries of a command inside the crate (MOVED, a reconnecting shard) before it fails and the
/// session starts over.
const RETRIES: u32 = 2;

pub(super) struct Cluster {
  conn: ClusterConnection,
  pushes: UnboundedReceiver<PushInfo>,
}

pub(super) struct ClusterPublisher(ClusterConnection);

/// A subscriber connection (RESP3, pushes into a channel) and a publishing one.
pub(super) async fn connect(nodes: &[ConnectionInfo]) -> RedisResult<(Cluster, ClusterPublisher)> {
  let builder = || {
    ClusterClientBuilder::new(nodes.to_vec())
      .connection_timeout(CONNECT_TIMEOUT)
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
  let publisher = builder().build()?.get_async_connection().await?;
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
  /// each keeps its messages' order.
  async fn publish(&mut self, batch: Vec<(String, Vec<u8>)>) -> RedisResult<()> {
    let mut pipes: HashMap<String, redis::Pipeline> = HashMap::new();
    for (channel, envelope) in batch {
      let pipe = pipes.entry(channel.clone()).or_insert_with(redis::pipe);
      pipe.cmd("SPUBLISH").arg(channel).arg(envelope).ignore();
    }
    let sends = pipes.into_values().map(|pipe| {
      let mut conn = self.0.clone();
      async move { pipe.query_async::<()>(&mut conn).await }
    });
    try_join_all(sends).await.map(drop)
  }
}
