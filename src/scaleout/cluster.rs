//! Redis Cluster: sharded pub/sub (Redis 7). A channel lives on the shard that owns its slot, so
//! topics spread over the shards and each shard carries only the messages of its own topics; the
//! broadcast channel lives on one shard. The `redis` crate's cluster connection keeps the slot
//! map and a connection per shard, follows MOVED, and hands pushes (RESP3) to a channel.
//!
//! A shard that disconnects, or a slot that moves (Redis then drops its channels' subscribers),
//! ends the session like a lost single Redis: the task reconnects and subscribes afresh, at the
//! slots' current owners.

use std::collections::HashMap;

use futures_util::future::{join_all, try_join_all};
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

/// Sends of a publish pipeline that cluster redirects refuse before the session starts over,
/// and the pause between them: about 2 s in all.
const REDIRECTED_PUBLISHES: u32 = 20;
const REDIRECT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

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
