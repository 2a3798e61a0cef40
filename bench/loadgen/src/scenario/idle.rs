//! idle: open N connections that send nothing, hold them `--duration` seconds, then exit.
//! With `--server-pid` it reads the server's RSS before connecting and once all connections are
//! open and settled, and reports the difference per connection. It also prints a line on stderr
//! when all are open, for anyone measuring the server by other means.
//!
//! With `--deflate` the connections agree to permessage-deflate and each, once open, sends one
//! compressed JSON-like text of `--size` bytes and waits for its echo before it goes idle: the
//! RSS then includes whatever compression state the server keeps per connection.

use super::open_many;
use crate::args::Args;
use crate::conn::{Error, Target};
use crate::deflate;
use crate::json::JsonLine;
use crate::raw::{Data, RawWs};
use crate::sys::process_rss_kb;
use crate::Common;
use bytes::Bytes;
use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

pub struct Config {
  conns: usize,
  /// Seconds to let the server settle (finish allocating, run its GC) before reading its RSS.
  settle: f64,
  /// With `--deflate`: the size of the one message each connection exchanges (default 4 KiB).
  deflate_size: Option<usize>,
}

impl Config {
  pub fn parse(args: &Args) -> Result<Config, String> {
    Ok(Config {
      conns: args.get("conns", 10_000)?,
      settle: args.get("settle", 1.0)?,
      deflate_size: if args.switch("deflate")? {
        Some(args.get("size", 4096)?)
      } else {
        None
      },
    })
  }
}

/// The open connections, each held by a task that keeps reading so pings are answered.
struct Held {
  holders: Vec<JoinHandle<()>>,
  /// With `--deflate`: the server's Sec-WebSocket-Extensions.
  negotiated: String,
  /// With `--deflate`: echoes the server sent without compressing them.
  uncompressed: u64,
}

async fn hold(cfg: &Config, common: &Common) -> Result<Held, Error> {
  let conns = open_many(&common.target, cfg.conns, 64, Target::connect).await?;
  // tungstenite queues the pong when it reads the ping.
  let holders = conns
    .into_iter()
    .map(|mut ws| tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} }))
    .collect();
  Ok(Held {
    holders,
    negotiated: String::new(),
    uncompressed: 0,
  })
}

async fn hold_deflate(cfg: &Config, common: &Common, size: usize) -> Result<Held, Error> {
  let frames = deflate::messages(size, false);
  let mut turn = 0;
  let conns = open_many(&common.target, cfg.conns, 64, |target| {
    turn += 1;
    exchange(target, frames[turn % frames.len()].clone())
  })
  .await?;
  let negotiated = conns
    .first()
    .map(|(ws, _)| ws.negotiated.clone())
    .unwrap_or_default();
  let uncompressed = conns.iter().filter(|(_, echo)| !echo.compressed).count();
  let holders = conns
    .into_iter()
    .map(|(mut ws, _)| {
      tokio::spawn(async move {
        let mut got = Vec::new();
        while let Ok(true) = ws.read(&mut got).await {
          got.clear();
        }
      })
    })
    .collect();
  Ok(Held {
    holders,
    negotiated,
    uncompressed: uncompressed as u64,
  })
}

/// Opens a connection, sends `frame` and waits for its echo.
async fn exchange(target: &Target, frame: Bytes) -> Result<(RawWs, Data), Error> {
  let mut ws = RawWs::connect(target).await?;
  ws.send(&frame).await?;
  let mut got = Vec::with_capacity(1);
  if !ws.read(&mut got).await? {
    return Err("the server closed before its echo".into());
  }
  Ok((ws, got[0]))
}

pub async fn run(cfg: Config, common: &Common) -> Result<JsonLine, Error> {
  let rss = || common.server_pid.and_then(process_rss_kb);
  let before = rss();
  let started = Instant::now();
  let held = match cfg.deflate_size {
    Some(size) => hold_deflate(&cfg, common, size).await?,
    None => hold(&cfg, common).await?,
  };
  let open_secs = started.elapsed().as_secs_f64();
  eprintln!("idle: all {} connections open", held.holders.len());

  let hold_end = Instant::now() + common.duration;
  tokio::time::sleep(Duration::from_secs_f64(cfg.settle)).await;
  let after = rss();
  let closed = held.holders.iter().filter(|h| h.is_finished()).count();
  tokio::time::sleep_until(hold_end.into()).await;

  let per_conn = match (before, after) {
    (Some(b), Some(a)) if cfg.conns > 0 => Some((a as f64 - b as f64) / cfg.conns as f64),
    _ => None,
  };
  let kb = |v: Option<u64>| v.map(|v| v as f64);
  let json = JsonLine::new()
    .str("scenario", "idle")
    .int("conns", cfg.conns as u64)
    .num("open_secs", open_secs, 2)
    .num("rate", cfg.conns as f64 / open_secs, 0)
    .int("closed_by_server", closed as u64)
    .opt_num("server_rss_before_kb", kb(before), 0)
    .opt_num("server_rss_after_kb", kb(after), 0)
    .opt_num("server_kb_per_conn", per_conn, 2);
  Ok(match cfg.deflate_size {
    Some(size) => json
      .bool("deflate", true)
      .int("size", size as u64)
      .str("negotiated", &held.negotiated)
      .int("uncompressed", held.uncompressed),
    None => json,
  })
}
