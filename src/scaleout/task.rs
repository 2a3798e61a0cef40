//! The link's task: connects to Redis, subscribes (the broadcast channel and the channels of
//! the topics with local subscribers), delivers what the other nodes publish, publishes this
//! node's messages, follows the hub's subscriptions, and reconnects with backoff until stopped.

use std::collections::HashSet;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSub};
use redis::AsyncConnectionConfig;
use tokio::sync::watch;
use tokio::time::{sleep_until, timeout, Instant};

use crate::scaleout::envelope::Envelope;
use crate::scaleout::{backoff, channels, deliver, Link};
use crate::server::events::{EventKind, EventQueue};
use crate::server::Shared;

/// Connecting and subscribing, and any reply, must finish within these or the link reconnects.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// A PING on the subscriber connection finds a connection that died without a FIN.
const PING_INTERVAL: Duration = Duration::from_secs(10);
/// How long subscription changes gather before one SUBSCRIBE and one UNSUBSCRIBE carry them.
const BATCH_DELAY: Duration = Duration::from_millis(10);

/// Why a session ended, and whether it had been connected.
struct Lost {
  connected: bool,
  reason: String,
}

pub(super) struct Task {
  pub(super) link: Arc<Link>,
  pub(super) shared: Weak<Shared>,
  pub(super) events: Arc<EventQueue>,
  pub(super) client: redis::Client,
  pub(super) place: String,
}

impl Task {
  /// Connects, serves until the connection is lost, and reconnects with backoff, until stopped.
  pub(super) async fn supervise(self, mut stopped: watch::Receiver<bool>) {
    let mut attempt: u32 = 0;
    loop {
      let lost = tokio::select! {
        lost = self.session() => lost,
        _ = stopped.wait_for(|s| *s) => return,
      };
      self.link.queue.set_open(false);
      if lost.connected {
        attempt = 0;
      }
      if attempt == 0 {
        let what = if lost.connected {
          format!("Redis connection to {} lost", self.place)
        } else {
          format!("Redis at {} is unreachable", self.place)
        };
        let message = format!("{what}: {}; reconnecting", lost.reason);
        self.events.server(EventKind::RedisError, 0, &message);
      }
      attempt = attempt.saturating_add(1);
      let detail = u16::try_from(attempt).unwrap_or(u16::MAX);
      self
        .events
        .server(EventKind::RedisReconnect, detail, &lost.reason);
      tokio::select! {
        _ = tokio::time::sleep(backoff(attempt)) => {}
        _ = stopped.wait_for(|s| *s) => return,
      }
    }
  }

  /// Connects both connections and subscribes to the broadcast channel and to every topic with
  /// a local subscriber, which it returns.
  async fn connect(
    &self,
  ) -> redis::RedisResult<(PubSub, MultiplexedConnection, HashSet<Box<str>>)> {
    let mut pubsub = self.client.get_async_pubsub().await?;
    pubsub
      .subscribe(channels::broadcast(&self.link.prefix))
      .await?;
    // Changes from here on are applied by `receive`, against what this subscribes.
    self.link.changed.lock().unwrap().clear();
    let topics: HashSet<Box<str>> = match self.shared.upgrade() {
      Some(shared) => shared.hub.names().into_iter().collect(),
      None => HashSet::new(),
    };
    if !topics.is_empty() {
      pubsub.subscribe(self.topic_channels(&topics)).await?;
    }
    let config = AsyncConnectionConfig::new()
      .set_connection_timeout(Some(CONNECT_TIMEOUT))
      .set_response_timeout(Some(RESPONSE_TIMEOUT));
    let conn = self
      .client
      .get_multiplexed_async_connection_with_config(&config)
      .await?;
    Ok((pubsub, conn, topics))
  }

  fn topic_channels<'a>(&self, topics: impl IntoIterator<Item = &'a Box<str>>) -> Vec<String> {
    let prefix = &self.link.prefix;
    topics
      .into_iter()
      .map(|t| channels::topic(prefix, t))
      .collect()
  }

  async fn session(&self) -> Lost {
    let before = |reason: String| Lost {
      connected: false,
      reason,
    };
    let (pubsub, conn, topics) = match timeout(CONNECT_TIMEOUT, self.connect()).await {
      Ok(Ok(connected)) => connected,
      Ok(Err(e)) => return before(e.to_string()),
      Err(_) => return before(format!("no answer within {CONNECT_TIMEOUT:?}")),
    };
    self.link.queue.set_open(true);
    self.link.subscribed.store(topics.len(), Ordering::Relaxed);
    self.events.server(EventKind::RedisReady, 0, "");
    let reason = tokio::select! {
      reason = self.receive(pubsub, topics) => reason,
      reason = self.send(conn) => reason,
    };
    Lost {
      connected: true,
      reason,
    }
  }

  /// Delivers the other nodes' messages, and keeps the topic subscriptions (`subscribed`) in
  /// step with the hub, until the subscriber connection fails.
  async fn receive(&self, pubsub: PubSub, mut subscribed: HashSet<Box<str>>) -> String {
    let (mut sink, mut stream) = pubsub.split();
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.tick().await;
    let mut batch_due: Option<Instant> = None;
    let mut interest = pin!(self.link.interest.notified());
    loop {
      tokio::select! {
        _ = &mut interest => {
          interest.set(self.link.interest.notified());
          batch_due.get_or_insert_with(|| Instant::now() + BATCH_DELAY);
        }
        _ = async { sleep_until(batch_due.expect("guarded")).await }, if batch_due.is_some() => {
          batch_due = None;
          if let Err(e) = self.follow_hub(&mut sink, &mut subscribed).await {
            return e.to_string();
          }
        }
        msg = stream.next() => {
          let Some(msg) = msg else {
            return "connection closed".into();
          };
          let Some(shared) = self.shared.upgrade() else {
            return "server released".into();
          };
          deliver(&shared, &self.link.node, msg.get_payload_bytes());
        }
        _ = ping.tick() => match timeout(RESPONSE_TIMEOUT, sink.ping::<redis::Value>()).await {
          Ok(Ok(_)) => {}
          Ok(Err(e)) => return e.to_string(),
          Err(_) => return format!("no answer to PING within {RESPONSE_TIMEOUT:?}"),
        },
      }
    }
  }

  /// Subscribes to the channels of topics that gained local subscribers and unsubscribes from
  /// those that lost them, in one command each; a topic that came and went meanwhile costs
  /// nothing.
  async fn follow_hub(
    &self,
    sink: &mut redis::aio::PubSubSink,
    subscribed: &mut HashSet<Box<str>>,
  ) -> redis::RedisResult<()> {
    let changed = std::mem::take(&mut *self.link.changed.lock().unwrap());
    let Some(shared) = self.shared.upgrade() else {
      return Ok(());
    };
    let (mut join, mut leave) = (Vec::new(), Vec::new());
    for topic in changed {
      match (shared.hub.has(&topic), subscribed.contains(&topic)) {
        (true, false) => join.push(topic),
        (false, true) => leave.push(topic),
        _ => {}
      }
    }
    if !join.is_empty() {
      answered(sink.subscribe(self.topic_channels(&join))).await?;
      subscribed.extend(join);
    }
    if !leave.is_empty() {
      answered(sink.unsubscribe(self.topic_channels(&leave))).await?;
      for topic in &leave {
        subscribed.remove(topic);
      }
    }
    self
      .link
      .subscribed
      .store(subscribed.len(), Ordering::Relaxed);
    Ok(())
  }

  /// Publishes this node's messages, a pipeline per burst, until the connection fails.
  async fn send(&self, mut conn: MultiplexedConnection) -> String {
    let mut batch = Vec::new();
    loop {
      self.link.queue.take(&mut batch).await;
      let mut pipe = redis::pipe();
      let broadcast = channels::broadcast(&self.link.prefix);
      for envelope in batch.drain(..) {
        let channel = match Envelope::topic_of(&envelope) {
          Some(topic) => channels::topic(&self.link.prefix, topic),
          None => broadcast.clone(),
        };
        pipe.cmd("PUBLISH").arg(channel).arg(envelope).ignore();
      }
      if let Err(e) = pipe.query_async::<()>(&mut conn).await {
        return e.to_string();
      }
    }
  }
}

/// A command's reply, which must come within `RESPONSE_TIMEOUT` (a timeout is an I/O error:
/// the link reconnects).
async fn answered<T>(
  command: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> redis::RedisResult<T> {
  timeout(RESPONSE_TIMEOUT, command)
    .await
    .map_err(|_| redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)))?
}
