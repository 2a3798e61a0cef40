//! echo: N connections, each keeping P messages in flight; the server sends every message back.
//! Reports messages/s and round-trip latency. Each connection matches replies to its send times
//! in order (an echo server answers in order), so payloads carry no timestamps.
//!
//! With `--deflate` the connections agree to permessage-deflate and send a compressed JSON-like
//! text (see deflate.rs); replies are counted, not inflated.

use super::open_many;
use crate::args::Args;
use crate::conn::{data_of, message, Error, Target, Ws};
use crate::deflate;
use crate::hist::Histogram;
use crate::json::JsonLine;
use crate::raw::{close_frame, RawWs};
use crate::window::{Sampler, Window};
use crate::Common;
use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

pub struct Config {
  conns: usize,
  inflight: usize,
  size: usize,
  binary: bool,
  deflate: bool,
}

impl Config {
  pub fn parse(args: &Args) -> Result<Config, String> {
    Ok(Config {
      conns: args.get("conns", 100)?,
      inflight: args.get("inflight", 16usize)?.max(1),
      size: args.get("size", 32)?,
      binary: args.switch("binary")?,
      deflate: args.switch("deflate")?,
    })
  }
}

#[derive(Default)]
struct ConnStats {
  latency: Histogram,
  /// Replies received inside the window.
  received: u64,
  /// Replies of the wrong size or type (with `--deflate`, of the wrong type).
  bad: u64,
  /// With `--deflate`: replies the server sent without compressing them.
  uncompressed: u64,
  error: Option<String>,
}

/// How long after the window a connection may take to finish before it is counted as stalled.
const GRACE: Duration = Duration::from_secs(3);

/// The connections' tasks, spawned once all are open, and the window that starts then.
struct Started {
  tasks: Vec<JoinHandle<ConnStats>>,
  window: Window,
  /// With `--deflate`: the server's Sec-WebSocket-Extensions.
  negotiated: String,
}

async fn start(cfg: &Config, common: &Common) -> Result<Started, Error> {
  let conns = open_many(&common.target, cfg.conns, 64, Target::connect).await?;
  let window = Window::after(common.warmup, common.duration);
  let messages: Arc<[Message]> = variants(cfg.size)
    .into_iter()
    .map(|payload| message(payload, cfg.binary))
    .collect();
  let tasks = conns
    .into_iter()
    .enumerate()
    .map(|(i, ws)| tokio::spawn(drive(ws, messages.clone(), i, cfg.inflight, window)))
    .collect();
  Ok(Started {
    tasks,
    window,
    negotiated: String::new(),
  })
}

async fn start_deflate(cfg: &Config, common: &Common) -> Result<Started, Error> {
  let conns = open_many(&common.target, cfg.conns, 64, RawWs::connect).await?;
  let window = Window::after(common.warmup, common.duration);
  let negotiated = conns
    .first()
    .map(|ws| ws.negotiated.clone())
    .unwrap_or_default();
  let frames: Arc<[Bytes]> = deflate::messages(cfg.size, cfg.binary).into();
  let tasks = conns
    .into_iter()
    .map(|ws| {
      let drive = drive_deflate(ws, frames.clone(), cfg.binary, cfg.inflight, window);
      tokio::spawn(drive)
    })
    .collect();
  Ok(Started {
    tasks,
    window,
    negotiated,
  })
}

pub async fn run(cfg: Config, common: &Common) -> Result<JsonLine, Error> {
  let Started {
    tasks,
    window,
    negotiated,
  } = if cfg.deflate {
    start_deflate(&cfg, common).await?
  } else {
    start(&cfg, common).await?
  };
  let sampler = Sampler::start(window, &common.server_pids);

  let mut total = ConnStats::default();
  let (mut errors, mut stalled) = (0u64, 0u64);
  let mut first_error = None;
  for task in tasks {
    match tokio::time::timeout_at((window.end + GRACE).into(), task).await {
      Ok(Ok(stats)) => {
        total.latency.merge(&stats.latency);
        total.received += stats.received;
        total.bad += stats.bad;
        total.uncompressed += stats.uncompressed;
        if let Some(err) = stats.error {
          errors += 1;
          first_error.get_or_insert(err);
        }
      }
      // A panicked task or a connection that stopped answering.
      _ => stalled += 1,
    }
  }
  let usage = sampler.finish();

  let json = JsonLine::new()
    .str("scenario", "echo")
    .int("conns", cfg.conns as u64)
    .int("inflight", cfg.inflight as u64)
    .int("size", cfg.size as u64)
    .str("type", if cfg.binary { "binary" } else { "text" })
    .num("secs", window.secs(), 2)
    .int("messages", total.received)
    .num("rate", total.received as f64 / window.secs(), 0)
    .opt_num("p50_us", total.latency.quantile_us(0.5), 1)
    .opt_num("p99_us", total.latency.quantile_us(0.99), 1)
    .int("bad", total.bad)
    .int("errors", errors)
    .int("stalled", stalled);
  let json = if cfg.deflate {
    json
      .bool("deflate", true)
      .str("negotiated", &negotiated)
      .int("uncompressed", total.uncompressed)
  } else {
    json
  };
  let json = usage.write(json, total.received);
  Ok(match first_error {
    Some(err) => json.str("first_error", &err),
    None => json,
  })
}

/// How many different payloads the connections cycle through.
const VARIANTS: usize = 4096;

/// `VARIANTS` payloads of `size` bytes, each different in its first bytes (as far as `size`
/// allows): a real echo never sends the same message twice in a row, so neither does this,
/// and a server cannot answer a run of equal messages with one shared frame.
fn variants(size: usize) -> Vec<Bytes> {
  (0..VARIANTS)
    .map(|n| {
      let mut payload = vec![b'x'; size];
      let tag = format!("{n:04x}");
      let tag = &tag.as_bytes()[tag.len().saturating_sub(size)..];
      payload[..tag.len()].copy_from_slice(tag);
      Bytes::from(payload)
    })
    .collect()
}

/// One connection: prime P messages, then answer every reply with a new message until the
/// window ends. Replies already buffered are handled together and answered with one flush,
/// so the loadgen spends its core on messages rather than on syscalls. Connection `index`
/// starts at its own place in `messages` and takes the next one for every send.
async fn drive(
  mut ws: Ws,
  messages: Arc<[Message]>,
  index: usize,
  inflight: usize,
  window: Window,
) -> ConnStats {
  let mut stats = ConnStats::default();
  let size = data_of(&messages[0]).map_or(0, |(data, _)| data.len());
  let binary = matches!(messages[0], Message::Binary(_));
  let mut turn = index * 37;
  let mut sent_at: VecDeque<Instant> = VecDeque::with_capacity(inflight);
  let mut to_send = inflight;
  loop {
    let now = Instant::now();
    for _ in 0..to_send {
      turn += 1;
      if let Err(err) = ws.feed(messages[turn % messages.len()].clone()).await {
        stats.error = Some(err.to_string());
        return stats;
      }
      sent_at.push_back(now);
    }
    if let Err(err) = ws.flush().await {
      stats.error = Some(err.to_string());
      return stats;
    }
    if now >= window.end {
      break;
    }
    to_send = 0;
    let mut next = ws.next().await;
    loop {
      match next {
        Some(Ok(reply)) => match data_of(&reply) {
          Some((data, is_binary)) => {
            let now = Instant::now();
            let sent = sent_at.pop_front().unwrap_or(now);
            if data.len() != size || is_binary != binary {
              stats.bad += 1;
            }
            if window.contains(now) {
              stats.latency.record((now - sent).as_nanos() as u64);
              stats.received += 1;
            }
            if now < window.end {
              to_send += 1;
            }
          }
          None if reply.is_close() => {
            stats.error = Some("the server closed the connection".into());
            return stats;
          }
          None => {} // ping or pong: tungstenite answers pings itself
        },
        Some(Err(err)) => {
          stats.error = Some(err.to_string());
          return stats;
        }
        None => {
          stats.error = Some("the connection ended".into());
          return stats;
        }
      }
      // Take whatever else is already buffered without waiting for the socket.
      match ws.next().now_or_never() {
        Some(more) => next = more,
        None => break,
      }
    }
  }
  // Best effort: tell the server we are done; it may still be sending replies to us.
  let _ = tokio::time::timeout(Duration::from_millis(200), ws.send(Message::Close(None))).await;
  stats
}

/// `drive` over a `--deflate` connection: each send is the next of the compressed frames, and a
/// reply is checked for its type only, as its size on the wire depends on how the server
/// compressed it.
async fn drive_deflate(
  mut ws: RawWs,
  frames: Arc<[Bytes]>,
  binary: bool,
  inflight: usize,
  window: Window,
) -> ConnStats {
  let mut stats = ConnStats::default();
  let mut sent_at: VecDeque<Instant> = VecDeque::with_capacity(inflight);
  let mut batch = Vec::with_capacity(frames[0].len() * inflight);
  let mut replies = Vec::with_capacity(inflight);
  let mut to_send = inflight;
  let mut turn = 0;
  loop {
    let now = Instant::now();
    batch.clear();
    for _ in 0..to_send {
      batch.extend_from_slice(&frames[turn % frames.len()]);
      turn += 1;
      sent_at.push_back(now);
    }
    if let Err(err) = ws.send(&batch).await {
      stats.error = Some(err.to_string());
      return stats;
    }
    if now >= window.end {
      break;
    }
    replies.clear();
    match ws.read(&mut replies).await {
      Ok(true) => {}
      Ok(false) => {
        stats.error = Some("the server closed the connection".into());
        return stats;
      }
      Err(err) => {
        stats.error = Some(err.to_string());
        return stats;
      }
    }
    let now = Instant::now();
    to_send = 0;
    for reply in &replies {
      let sent = sent_at.pop_front().unwrap_or(now);
      stats.bad += u64::from(reply.binary != binary);
      stats.uncompressed += u64::from(!reply.compressed);
      if window.contains(now) {
        stats.latency.record((now - sent).as_nanos() as u64);
        stats.received += 1;
      }
      if now < window.end {
        to_send += 1;
      }
    }
  }
  // Best effort, as in `drive`.
  let _ = tokio::time::timeout(Duration::from_millis(200), ws.send(&close_frame())).await;
  stats
}
