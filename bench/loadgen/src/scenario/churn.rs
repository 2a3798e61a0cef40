//! churn: C clients, each in a loop: open a connection (TCP + upgrade), send one message, wait
//! for its echo, close (close handshake, then wait for the server to end the TCP connection, so
//! TIME_WAIT lands on the server side and the loadgen does not run out of ports). Reports
//! connections/s and the latency of one whole cycle.

use crate::args::Args;
use crate::conn::{data_of, message, Error, Target};
use crate::hist::Histogram;
use crate::json::JsonLine;
use crate::window::{Sampler, Window};
use crate::Common;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

pub struct Config {
  concurrency: usize,
  size: usize,
}

impl Config {
  pub fn parse(args: &Args) -> Result<Config, String> {
    Ok(Config {
      concurrency: args.get("concurrency", 50usize)?.max(1),
      size: args.get("size", 32)?,
    })
  }
}

/// One cycle longer than this counts as an error, so a stuck server cannot stall a client.
const CYCLE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Stats {
  latency: Histogram,
  completed: u64,
  errors: u64,
  first_error: Option<String>,
}

async fn cycle(target: &Target, msg: &Message) -> Result<(), Error> {
  let mut ws = target.connect().await?;
  ws.send(msg.clone()).await?;
  loop {
    let reply = ws.next().await.ok_or("closed before the echo")??;
    if let Some((data, _)) = data_of(&reply) {
      if data.len() != data_of(msg).map_or(0, |(d, _)| d.len()) {
        return Err("the echo has the wrong size".into());
      }
      break;
    }
  }
  ws.close(None).await?;
  // Read the server's close frame, then its FIN.
  while let Some(Ok(_)) = ws.next().await {}
  Ok(())
}

async fn client(target: Target, msg: Message, window: Window) -> Stats {
  let mut stats = Stats::default();
  while Instant::now() < window.end {
    let started = Instant::now();
    let result = tokio::time::timeout(CYCLE_TIMEOUT, cycle(&target, &msg)).await;
    let now = Instant::now();
    match result {
      Ok(Ok(())) if window.contains(now) => {
        stats.completed += 1;
        stats.latency.record((now - started).as_nanos() as u64);
      }
      Ok(Ok(())) => {}
      Ok(Err(err)) => {
        stats.errors += 1;
        stats.first_error.get_or_insert(err.to_string());
        // A refusing server must not turn this loop into a busy spin.
        tokio::time::sleep(Duration::from_millis(10)).await;
      }
      Err(_) => {
        stats.errors += 1;
        stats.first_error.get_or_insert("a cycle timed out".into());
      }
    }
  }
  stats
}

pub async fn run(cfg: Config, common: &Common) -> Result<JsonLine, Error> {
  let window = Window::after(common.warmup, common.duration);
  let sampler = Sampler::start(window, &common.server_pids);
  let msg = message(Bytes::from(vec![b'x'; cfg.size]), false);
  let tasks: Vec<_> = (0..cfg.concurrency)
    .map(|_| tokio::spawn(client(common.target.clone(), msg.clone(), window)))
    .collect();
  let mut total = Stats::default();
  for task in tasks {
    let stats = task.await?;
    total.latency.merge(&stats.latency);
    total.completed += stats.completed;
    total.errors += stats.errors;
    if total.first_error.is_none() {
      total.first_error = stats.first_error;
    }
  }
  let usage = sampler.finish();

  let json = JsonLine::new()
    .str("scenario", "churn")
    .int("concurrency", cfg.concurrency as u64)
    .int("size", cfg.size as u64)
    .num("secs", window.secs(), 2)
    .int("connections", total.completed)
    .num("rate", total.completed as f64 / window.secs(), 0)
    .opt_num("p50_us", total.latency.quantile_us(0.5), 1)
    .opt_num("p99_us", total.latency.quantile_us(0.99), 1)
    .int("errors", total.errors);
  let json = usage.write(json, total.completed);
  Ok(match total.first_error {
    Some(err) => json.str("first_error", &err),
    None => json,
  })
}
