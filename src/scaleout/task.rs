//! The link's task: connects to Redis, subscribes (the broadcast channel and the channels of
//! the topics with local subscribers), delivers what the other nodes publish, publishes this
//! node's messages, follows the hub's subscriptions, and reconnects with backoff until stopped.

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::FutureExt;
use redis::RedisResult;
use tokio::sync::watch;
use tokio::time::{sleep_until, timeout, Instant};

use crate::scaleout::envelope::Envelope;
use crate::scaleout::{backoff, channels, cluster, deliver, single, Link};
use crate::server::events::{EventKind, EventQueue};
use crate::server::Shared;

/// Connecting and subscribing, and any reply, must finish within these or the link reconnects.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub(super) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// A PING on the subscriber connection finds a connection that died without a FIN.
const PING_INTERVAL: Duration = Duration::from_secs(10);
/// How long subscription changes gather before one SUBSCRIBE and one UNSUBSCRIBE carry them.
const BATCH_DELAY: Duration = Duration::from_millis(10);
/// Messages delivered between two flushes at most, so the first of a long burst is not held.
const MAX_BURST: usize = 256;

/// The Redis deployment a link talks to.
pub(super) enum Target {
  Single(redis::Client),
  Cluster(cluster::Seeds),
}

/// What the subscriber connection hands the task.
pub(super) enum Incoming {
  /// An envelope published by a node.
  Message(Vec<u8>),
  /// Redis unsubscribed this connection from the channel by itself (its slot moved).
  Dropped(Vec<u8>),
  /// The subscription is gone; the session ends.
  Lost(String),
}

/// The receiving side of a session, one implementation per deployment.
pub(super) trait Subscriber {
  async fn subscribe(&mut self, channels: Vec<String>) -> RedisResult<()>;
  async fn unsubscribe(&mut self, channels: Vec<String>) -> RedisResult<()>;
  async fn ping(&mut self) -> RedisResult<()>;
  /// Cancel-safe: the task polls it beside its timers.
  async fn next(&mut self) -> Incoming;
}

/// The publishing side of a session.
pub(super) trait Publisher {
  /// Publishes `(channel, envelope)` pairs, keeping their order per channel.
  async fn publish(&mut self, batch: Vec<(String, Vec<u8>)>) -> RedisResult<()>;
}

/// Why a session ended, and whether it had been connected.
struct Lost {
  connected: bool,
  reason: String,
}

pub(super) struct Task {
  pub(super) link: Arc<Link>,
  pub(super) shared: Weak<Shared>,
  pub(super) events: Arc<EventQueue>,
  pub(super) target: Target,
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
      // Nothing comes from Redis until the next session has subscribed again.
      self.link.subscribed.store(0, Ordering::Relaxed);
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

  async fn session(&self) -> Lost {
    match &self.target {
      Target::Single(client) => self.serve(single::connect(client)).await,
      Target::Cluster(seeds) => self.serve(cluster::connect(seeds)).await,
    }
  }

  /// Connects, subscribes to the broadcast channel and to every topic with a local subscriber,
  /// then receives and publishes until the connection is lost.
  async fn serve<S: Subscriber, P: Publisher>(
    &self,
    connect: impl Future<Output = RedisResult<(S, P)>>,
  ) -> Lost {
    let before = |reason: String| Lost {
      connected: false,
      reason,
    };
    let (subscriber, publisher, topics) =
      match timeout(CONNECT_TIMEOUT, self.subscribed(connect)).await {
        Ok(Ok(connected)) => connected,
        Ok(Err(e)) => return before(e.to_string()),
        Err(_) => return before(format!("no answer within {CONNECT_TIMEOUT:?}")),
      };
    self.link.queue.set_open(true);
    self.link.subscribed.store(topics.len(), Ordering::Relaxed);
    self.events.server(EventKind::RedisReady, 0, "");
    let reason = tokio::select! {
      reason = self.receive(subscriber, topics) => reason,
      reason = self.send(publisher) => reason,
    };
    Lost {
      connected: true,
      reason,
    }
  }

  async fn subscribed<S: Subscriber, P>(
    &self,
    connect: impl Future<Output = RedisResult<(S, P)>>,
  ) -> RedisResult<(S, P, HashSet<Box<str>>)> {
    let (mut subscriber, publisher) = connect.await?;
    subscriber
      .subscribe(vec![channels::broadcast(&self.link.prefix)])
      .await?;
    // Changes from here on are applied by `receive`, against what this subscribes.
    self.link.changed.lock().unwrap().clear();
    let topics: HashSet<Box<str>> = match self.shared.upgrade() {
      Some(shared) => shared.hub.names().into_iter().collect(),
      None => HashSet::new(),
    };
    if !topics.is_empty() {
      subscriber.subscribe(self.topic_channels(&topics)).await?;
    }
    Ok((subscriber, publisher, topics))
  }

  fn topic_channels<'a>(&self, topics: impl IntoIterator<Item = &'a Box<str>>) -> Vec<String> {
    let prefix = &self.link.prefix;
    topics
      .into_iter()
      .map(|t| channels::topic(prefix, t))
      .collect()
  }

  /// Delivers the other nodes' messages, and keeps the topic subscriptions (`subscribed`) in
  /// step with the hub, until the subscriber connection fails.
  async fn receive(
    &self,
    mut subscriber: impl Subscriber,
    mut subscribed: HashSet<Box<str>>,
  ) -> String {
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
          if let Err(e) = self.follow_hub(&mut subscriber, &mut subscribed).await {
            return e.to_string();
          }
        }
        incoming = subscriber.next() => {
          let Some(shared) = self.shared.upgrade() else {
            return "server released".into();
          };
          if let Some(reason) = self.burst(&shared, incoming, &mut subscriber, &subscribed) {
            return reason;
          }
        }
        _ = ping.tick() => if let Err(e) = subscriber.ping().await {
          return e.to_string();
        },
      }
    }
  }

  /// Delivers `first` and what Redis has already sent after it (at most `MAX_BURST` in all), then
  /// flushes once: one write per receiving connection for the whole burst. Returns why the
  /// session ends, when one of them ends it.
  fn burst(
    &self,
    shared: &Shared,
    first: Incoming,
    subscriber: &mut impl Subscriber,
    subscribed: &HashSet<Box<str>>,
  ) -> Option<String> {
    let mut incoming = first;
    let mut ended = None;
    for taken in 1..=MAX_BURST {
      match incoming {
        Incoming::Message(bytes) => {
          deliver(shared, &self.link.node, &bytes);
        }
        Incoming::Dropped(channel) if self.is_ours(&channel, subscribed) => {
          let channel = String::from_utf8_lossy(&channel);
          ended = Some(format!("Redis dropped the subscription to {channel}"));
          break;
        }
        Incoming::Dropped(_) => {}
        Incoming::Lost(reason) => {
          ended = Some(reason);
          break;
        }
      }
      // Only what this burst delivers is taken from Redis.
      if taken == MAX_BURST {
        break;
      }
      match subscriber.next().now_or_never() {
        Some(more) => incoming = more,
        None => break,
      }
    }
    shared.flush();
    ended
  }

  /// Whether `channel` is one this session still means to receive.
  fn is_ours(&self, channel: &[u8], subscribed: &HashSet<Box<str>>) -> bool {
    let prefix = &self.link.prefix;
    channels::broadcast(prefix).as_bytes() == channel
      || subscribed
        .iter()
        .any(|t| channels::topic(prefix, t).as_bytes() == channel)
  }

  /// Subscribes to the channels of topics that gained local subscribers and unsubscribes from
  /// those that lost them, in one batch each; a topic that came and went meanwhile costs
  /// nothing.
  async fn follow_hub(
    &self,
    subscriber: &mut impl Subscriber,
    subscribed: &mut HashSet<Box<str>>,
  ) -> RedisResult<()> {
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
      subscriber.subscribe(self.topic_channels(&join)).await?;
      subscribed.extend(join);
    }
    if !leave.is_empty() {
      subscriber.unsubscribe(self.topic_channels(&leave)).await?;
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

  /// Publishes this node's messages, a batch per burst, until the connection fails.
  async fn send(&self, mut publisher: impl Publisher) -> String {
    let mut batch = Vec::new();
    loop {
      self.link.queue.take(&mut batch).await;
      let broadcast = channels::broadcast(&self.link.prefix);
      let addressed = batch
        .drain(..)
        .map(|envelope| {
          let channel = match Envelope::topic_of(&envelope) {
            Some(topic) => channels::topic(&self.link.prefix, topic),
            None => broadcast.clone(),
          };
          (channel, envelope)
        })
        .collect::<Vec<_>>();
      let sent = addressed.len();
      if let Err(e) = publisher.publish(addressed).await {
        // At most once: a batch cut off with the connection counts as dropped.
        self.link.queue.lost(sent);
        return e.to_string();
      }
    }
  }
}

/// A command's reply, which must come within `RESPONSE_TIMEOUT` (a timeout is an I/O error:
/// the link reconnects).
pub(super) async fn answered<T>(
  command: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> redis::RedisResult<T> {
  timeout(RESPONSE_TIMEOUT, command)
    .await
    .map_err(|_| redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)))?
}
