//! One Redis: a subscriber connection (RESP2 pub/sub) and a multiplexed connection that
//! publishes, so a long publishing pipeline never delays what this node receives.

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use redis::{AsyncConnectionConfig, RedisResult};

use crate::scaleout::task::{
  answered, Incoming, Publisher, Subscriber, CONNECT_TIMEOUT, RESPONSE_TIMEOUT,
};

pub(super) struct Single {
  sink: PubSubSink,
  stream: PubSubStream,
}

pub(super) struct SinglePublisher(MultiplexedConnection);

pub(super) async fn connect(client: &redis::Client) -> RedisResult<(Single, SinglePublisher)> {
  let (sink, stream) = client.get_async_pubsub().await?.split();
  let config = AsyncConnectionConfig::new()
    .set_connection_timeout(Some(CONNECT_TIMEOUT))
    .set_response_timeout(Some(RESPONSE_TIMEOUT));
  let conn = client
    .get_multiplexed_async_connection_with_config(&config)
    .await?;
  Ok((Single { sink, stream }, SinglePublisher(conn)))
}

impl Subscriber for Single {
  async fn subscribe(&mut self, channels: Vec<String>) -> RedisResult<()> {
    answered(self.sink.subscribe(channels)).await
  }

  async fn unsubscribe(&mut self, channels: Vec<String>) -> RedisResult<()> {
    answered(self.sink.unsubscribe(channels)).await
  }

  async fn ping(&mut self) -> RedisResult<()> {
    answered(self.sink.ping::<redis::Value>()).await.map(drop)
  }

  async fn next(&mut self) -> Incoming {
    match self.stream.next().await {
      Some(msg) => Incoming::Message(msg.get_payload_bytes().to_vec()),
      None => Incoming::Lost("connection closed".into()),
    }
  }
}

impl Publisher for SinglePublisher {
  /// One pipeline for the whole batch: one round trip, and Redis keeps its order.
  async fn publish(&mut self, batch: Vec<(String, Vec<u8>)>) -> RedisResult<()> {
    let mut pipe = redis::pipe();
    for (channel, envelope) in batch {
      pipe.cmd("PUBLISH").arg(channel).arg(envelope).ignore();
    }
    pipe.query_async::<()>(&mut self.0).await
  }
}
