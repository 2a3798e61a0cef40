//! chat: N receivers and K publishers in one room; the server sends every message to every
//! client (publishers included), as the `websocket` package's chat example does. Reports
//! deliveries/s, fan-out latency (publisher send to receiver read) and lost deliveries.
//!
//! With `--rooms R` the clients are dealt round-robin into R rooms, client i joining room
//! i % R by connecting to the path `/rooms/<i % R>`; the server sends each message to every
//! client of the sender's room (sender included), as a pub/sub server does with topics.
//!
//! Flow control: a publisher sends message s only once every message before s - P has reached
//! every client, so the server never has more than P messages per publisher queued per client
//! and a server that buffers without bound is measured the same as one that pushes back.
//!
//! With `--deflate` the room runs with permessage-deflate: see deflate.rs beside this file.
//!
//! Scale-out: with several servers in `--url` (`ws://a/,ws://b/`), client i connects to server
//! i % N, so every room's clients and publishers are spread over the nodes, and a delivery to a
//! client of another node than the publisher's counts as cross-node. With `--socketio` the
//! clients speak socket.io's protocol (socketio.rs beside this file) instead of plain WebSocket
//! messages.

mod deflate;
mod socketio;

use super::open_each;
use crate::args::Args;
use crate::conn::{data_of, message, Error, Ws};
use crate::hist::Histogram;
use crate::json::JsonLine;
use crate::window::{Sampler, Window};
use crate::Common;
use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, Stream, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

#[derive(Clone, Copy)]
pub struct Config {
  receivers: usize,
  publishers: usize,
  rooms: usize,
  inflight: u64,
  size: usize,
  binary: bool,
  deflate: bool,
  socketio: bool,
}

impl Config {
  pub fn parse(args: &Args) -> Result<Config, String> {
    let cfg = Config {
      receivers: args.get("receivers", 1000)?,
      publishers: args.get("publishers", 10usize)?.max(1),
      rooms: args.get("rooms", 1usize)?.max(1),
      inflight: args.get("inflight", 1u64)?.max(1),
      size: args.get("size", 64)?,
      binary: args.switch("binary")?,
      deflate: args.switch("deflate")?,
      socketio: args.switch("socketio")?,
    };
    if cfg.size < HEADER {
      return Err(format!(
        "--size must be at least {HEADER} (the message header)"
      ));
    }
    if cfg.publishers > 99_999 {
      return Err("--publishers must fit in 5 digits".into());
    }
    if cfg.deflate && cfg.rooms > 1 {
      return Err("--deflate runs one room: its messages carry no header naming a room".into());
    }
    if cfg.socketio && (cfg.deflate || cfg.binary) {
      return Err("--socketio sends its messages as text events, uncompressed".into());
    }
    if cfg.rooms > cfg.publishers {
      return Err(
        "--rooms must not exceed --publishers (a room without one measures nothing)".into(),
      );
    }
    Ok(cfg)
  }

  /// The `--deflate` room runs on one server only.
  pub fn spreads_over_nodes(&self) -> bool {
    !self.deflate
  }

  fn clients(&self) -> usize {
    self.receivers + self.publishers
  }

  /// The room of client `i`; publishers come first, so every room gets one.
  fn room_of(&self, i: usize) -> usize {
    i % self.rooms
  }

  /// How many clients share room `room`, each receiving every message published there.
  fn fanout(&self, room: usize) -> u64 {
    let total = self.clients();
    (total / self.rooms + usize::from(room < total % self.rooms)) as u64
  }
}

/// Message header: publisher id (5 digits), sequence (10), send time in ns (16); ASCII so that
/// text and binary runs share it. A message whose header starts with STOP ends the receivers.
const HEADER: usize = 31;
const STOP: &[u8] = b"STOP";
/// How long to wait after the window for the deliveries still in flight before counting the
/// rest as lost.
const DRAIN: Duration = Duration::from_secs(3);

struct Publisher {
  /// The node (index in `--url`) it is connected to.
  node: usize,
  /// Clients that receive each of its messages: everyone in its room, itself included.
  fanout: u64,
  /// Messages of this publisher read by any client.
  delivered: AtomicU64,
  /// The `delivered` count the publisher is waiting for.
  wake_at: AtomicU64,
  wake: Notify,
}

/// What every client task shares: the clock base and the publishers' delivery counts.
struct Room {
  base: Instant,
  publishers: Vec<Publisher>,
}

impl Room {
  fn delivered(&self) -> u64 {
    self
      .publishers
      .iter()
      .map(|p| p.delivered.load(Relaxed))
      .sum()
  }
}

fn header(id: usize, seq: u64, nanos: u64, size: usize) -> Bytes {
  let mut text = format!("{id:05}{seq:010}{nanos:016}").into_bytes();
  text.resize(size, b'x');
  Bytes::from(text)
}

fn stop_payload(size: usize) -> Bytes {
  let mut text = STOP.to_vec();
  text.resize(size, b'x');
  Bytes::from(text)
}

fn digits(bytes: &[u8]) -> Option<u64> {
  bytes.iter().try_fold(0u64, |acc, &b| {
    b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as u64)
  })
}

/// The publisher id and send time of a message, or None for a malformed one.
fn parse(data: &[u8]) -> Option<(usize, u64)> {
  let head = data.get(..HEADER)?;
  Some((digits(&head[..5])? as usize, digits(&head[15..])?))
}

#[derive(Default)]
struct Received {
  latency: Histogram,
  in_window: u64,
  /// Deliveries in the window from a publisher on another node.
  cross_in_window: u64,
  bad: u64,
}

/// Who a client is: the node it is connected to, and how its messages are wrapped.
#[derive(Clone, Copy)]
struct Client {
  node: usize,
  socketio: bool,
}

impl Client {
  fn message(self, payload: Bytes, binary: bool) -> Message {
    if self.socketio {
      socketio::event(&payload)
    } else {
      message(payload, binary)
    }
  }

  /// The chat message a data message carries: itself, or a socket.io event's argument (None for
  /// the other socket.io packets).
  fn unwrap(self, data: &[u8]) -> Option<&[u8]> {
    if self.socketio {
      socketio::payload(data)
    } else {
      Some(data)
    }
  }
}

/// Reads one client's messages until the STOP message or the end of the connection. Generic so
/// that plain receivers read their socket directly and only publishers pay for a split stream.
async fn receive<S>(mut stream: S, me: Client, room: Arc<Room>, window: Window) -> Received
where
  S: Stream<Item = Result<Message, WsError>> + Unpin,
{
  let mut got = Received::default();
  while let Some(Ok(msg)) = stream.next().await {
    let Some(data) = data_of(&msg).and_then(|(data, _)| me.unwrap(data)) else {
      continue;
    };
    if data.starts_with(STOP) {
      break;
    }
    let Some((id, sent)) = parse(data).filter(|(id, _)| *id < room.publishers.len()) else {
      got.bad += 1;
      continue;
    };
    let publisher = &room.publishers[id];
    let now = Instant::now();
    if window.contains(now) {
      let nanos = (now - room.base).as_nanos() as u64;
      got.latency.record(nanos.saturating_sub(sent));
      got.in_window += 1;
      got.cross_in_window += u64::from(publisher.node != me.node);
    }
    let count = publisher.delivered.fetch_add(1, Relaxed) + 1;
    if count == publisher.wake_at.load(Relaxed) {
      publisher.wake.notify_one();
    }
  }
  got
}

/// Sends until the window ends, at most `inflight` messages not yet delivered everywhere.
/// Returns how many it sent, and its sink for the STOP message.
async fn publish(
  mut sink: SplitSink<Ws, Message>,
  id: usize,
  client: Client,
  cfg: Config,
  room: Arc<Room>,
  window: Window,
) -> (u64, SplitSink<Ws, Message>) {
  let me = &room.publishers[id];
  let mut sent = 0u64;
  while Instant::now() < window.end {
    let need = (sent + 1).saturating_sub(cfg.inflight) * me.fanout;
    if me.delivered.load(Relaxed) < need {
      me.wake_at.store(need, Relaxed);
      // Re-check after publishing the target: a receiver may have reached it in between.
      if me.delivered.load(Relaxed) < need {
        let _ = tokio::time::timeout_at(window.end.into(), me.wake.notified()).await;
        continue;
      }
    }
    let nanos = (Instant::now() - room.base).as_nanos() as u64;
    let msg = client.message(header(id, sent, nanos, cfg.size), cfg.binary);
    if sink.send(msg).await.is_err() {
      break;
    }
    sent += 1;
  }
  (sent, sink)
}

pub async fn run(cfg: Config, common: &Common) -> Result<JsonLine, Error> {
  if cfg.deflate {
    return deflate::run(cfg, common).await;
  }
  let total = cfg.clients();
  let nodes = common.nodes.len();
  let client = |i: usize| Client {
    node: i % nodes,
    socketio: cfg.socketio,
  };
  let targets: Vec<_> = (0..total)
    .map(|i| {
      let node = &common.nodes[client(i).node];
      let path = match cfg.rooms {
        1 => node.path().to_string(),
        _ => format!("/rooms/{}", cfg.room_of(i)),
      };
      match cfg.socketio {
        true => socketio::target(node, &path),
        false => node.at_path(&path),
      }
    })
    .collect();
  let socketio = cfg.socketio;
  let clients = open_each(&targets, 64, |target| async move {
    match socketio {
      true => socketio::connect(target).await,
      false => target.connect().await,
    }
  })
  .await?;
  let room = Arc::new(Room {
    base: Instant::now(),
    publishers: (0..cfg.publishers)
      .map(|i| Publisher {
        node: client(i).node,
        fanout: cfg.fanout(cfg.room_of(i)),
        delivered: AtomicU64::new(0),
        wake_at: AtomicU64::new(u64::MAX),
        wake: Notify::new(),
      })
      .collect(),
  });
  let window = Window::after(common.warmup, common.duration);
  let sampler = Sampler::start(window, &common.server_pids);

  let mut readers = Vec::with_capacity(total);
  let mut publishers = Vec::with_capacity(cfg.publishers);
  for (i, ws) in clients.into_iter().enumerate() {
    if i < cfg.publishers {
      let (sink, stream) = ws.split();
      readers.push(tokio::spawn(receive(
        stream,
        client(i),
        room.clone(),
        window,
      )));
      let publish = publish(sink, i, client(i), cfg, room.clone(), window);
      publishers.push(tokio::spawn(publish));
    } else {
      readers.push(tokio::spawn(receive(ws, client(i), room.clone(), window)));
    }
  }

  let mut sent = Vec::with_capacity(cfg.publishers);
  let mut sinks = Vec::new();
  for task in publishers {
    let (count, sink) = task.await?;
    sent.push(count);
    sinks.push(sink);
  }
  let expected: u64 = sent
    .iter()
    .zip(&room.publishers)
    .map(|(count, publisher)| count * publisher.fanout)
    .sum();
  let drain_end = Instant::now() + DRAIN;
  while room.delivered() < expected && Instant::now() < drain_end {
    tokio::time::sleep(Duration::from_millis(5)).await;
  }
  let delivered = room.delivered();
  let usage = sampler.finish();

  // Messages from one client reach each client of its room in order, so STOP arrives after
  // every message of the room's first publisher; the drain above has waited for the others.
  for (i, sink) in sinks.iter_mut().enumerate().take(cfg.rooms) {
    let stop = client(i).message(stop_payload(cfg.size), cfg.binary);
    let _ = sink.send(stop).await;
  }
  let mut got = Received::default();
  let mut stalled = 0u64;
  for task in readers {
    match tokio::time::timeout(Duration::from_secs(2), task).await {
      Ok(Ok(one)) => {
        got.latency.merge(&one.latency);
        got.in_window += one.in_window;
        got.cross_in_window += one.cross_in_window;
        got.bad += one.bad;
      }
      _ => stalled += 1,
    }
  }

  let json = JsonLine::new()
    .str("scenario", "chat")
    .int("receivers", cfg.receivers as u64)
    .int("publishers", cfg.publishers as u64)
    .int("rooms", cfg.rooms as u64)
    .int("inflight", cfg.inflight)
    .int("size", cfg.size as u64)
    .str("type", if cfg.binary { "binary" } else { "text" })
    .num("secs", window.secs(), 2)
    .int("published", sent.iter().sum())
    .int("deliveries", got.in_window)
    .num("rate", got.in_window as f64 / window.secs(), 0)
    .int("nodes", nodes as u64)
    .str(
      "protocol",
      if cfg.socketio {
        "socket.io"
      } else {
        "websocket"
      },
    )
    .int("cross_node_deliveries", got.cross_in_window)
    .num(
      "cross_node_rate",
      got.cross_in_window as f64 / window.secs(),
      0,
    )
    .opt_num("p50_us", got.latency.quantile_us(0.5), 1)
    .opt_num("p99_us", got.latency.quantile_us(0.99), 1)
    .int("expected", expected)
    .int("lost", expected.saturating_sub(delivered))
    .int("bad", got.bad)
    .int("stalled", stalled);
  Ok(usage.write(json, got.in_window))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn header_round_trip() {
    let bytes = header(7, 42, 123_456_789, 64);
    assert_eq!(bytes.len(), 64);
    assert_eq!(parse(&bytes), Some((7, 123_456_789)));
    assert_eq!(parse(b"short"), None);
    assert_eq!(parse(&[b'x'; 64]), None);
  }

  #[test]
  fn rooms_deal_every_client_once() {
    let args = Args::parse(
      &[
        "--receivers",
        "903",
        "--publishers",
        "100",
        "--rooms",
        "100",
      ]
      .map(String::from),
    )
    .unwrap();
    let cfg = Config::parse(&args).unwrap();
    let fanouts: u64 = (0..cfg.rooms).map(|r| cfg.fanout(r)).sum();
    assert_eq!(fanouts, 1003);
    assert_eq!(cfg.fanout(2), 11);
    assert_eq!(cfg.fanout(3), 10);
    assert!((0..100).all(|p| cfg.room_of(p) == p));
  }
}
