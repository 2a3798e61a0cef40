//! idle: open N connections that send nothing, hold them `--duration` seconds, then exit.
//! With `--server-pid` it reads the server's RSS before connecting and once all connections are
//! open and settled, and reports the difference per connection. It also prints a line on stderr
//! when all are open, for anyone measuring the server by other means.

use super::open_many;
use crate::args::Args;
use crate::conn::Error;
use crate::json::JsonLine;
use crate::sys::process_rss_kb;
use crate::Common;
use futures_util::StreamExt;
use std::time::{Duration, Instant};

pub struct Config {
  conns: usize,
  /// Seconds to let the server settle (finish allocating, run its GC) before reading its RSS.
  settle: f64,
}

impl Config {
  pub fn parse(args: &Args) -> Result<Config, String> {
    Ok(Config {
      conns: args.get("conns", 10_000)?,
      settle: args.get("settle", 1.0)?,
    })
  }
}

pub async fn run(cfg: Config, common: &Common) -> Result<JsonLine, Error> {
  let rss = || common.server_pid.and_then(process_rss_kb);
  let before = rss();
  let started = Instant::now();
  let conns = open_many(&common.target, cfg.conns, 64).await?;
  let open_secs = started.elapsed().as_secs_f64();
  eprintln!("idle: all {} connections open", conns.len());

  // Keep reading so pings are answered (tungstenite queues the pong when it reads the ping).
  let holders: Vec<_> = conns
    .into_iter()
    .map(|mut ws| tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} }))
    .collect();
  let hold_end = Instant::now() + common.duration;
  tokio::time::sleep(Duration::from_secs_f64(cfg.settle)).await;
  let after = rss();
  let closed = holders.iter().filter(|h| h.is_finished()).count();
  tokio::time::sleep_until(hold_end.into()).await;

  let per_conn = match (before, after) {
    (Some(b), Some(a)) if cfg.conns > 0 => Some((a as f64 - b as f64) / cfg.conns as f64),
    _ => None,
  };
  let kb = |v: Option<u64>| v.map(|v| v as f64);
  Ok(
    JsonLine::new()
      .str("scenario", "idle")
      .int("conns", cfg.conns as u64)
      .num("open_secs", open_secs, 2)
      .num("rate", cfg.conns as f64 / open_secs, 0)
      .int("closed_by_server", closed as u64)
      .opt_num("server_rss_before_kb", kb(before), 0)
      .opt_num("server_rss_after_kb", kb(after), 0)
      .opt_num("server_kb_per_conn", per_conn, 2),
  )
}
