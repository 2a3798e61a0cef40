//! idle: open N connections that send nothing, hold them `--duration` seconds, then exit.
//! With `--server-pid` it reads the server's RSS before connecting and once all connections are
//! open and settled, and reports the difference per connection. It also prints a line on stderr
//! when all are open, for anyone measuring the server by other means.
//!
//! With `--deflate` the connections agree to permessage-deflate and each, once open, sends one
//! compressed JSON-like text of `--size` bytes and waits for its echo before it goes idle: the
//! RSS then includes whatever compression state the server keeps per connection.
//!
//! One source address has only so many ephemeral ports: past half of them (14,116 with the usual
//! 32768-60999) the connections are spread round-robin over source addresses 127.0.0.2, .3, ...
//! (all of 127.0.0.0/8 is loopback on Linux); the server stays on its own address. Opening is
//! 64 handshakes at a time and bounded by `--open-secs`: a server too slow to take them all in
//! time fails the run with how many it took.

use super::open_each;
use crate::args::Args;
use crate::conn::{Error, Target};
use crate::deflate;
use crate::json::JsonLine;
use crate::raw::{Data, RawWs};
use crate::sys::{ephemeral_ports, process_rss_kb};
use crate::Common;
use bytes::Bytes;
use futures_util::{StreamExt, TryFutureExt};
use std::cell::Cell;
use std::future::Future;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Handshakes in flight at a time: more only overflow the server's accept backlog.
const PARALLEL: usize = 64;
/// The first source address when the connections need several (127.0.0.1 is everyone else's).
const FIRST_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

pub struct Config {
  pub conns: usize,
  /// How long opening all the connections may take.
  open_limit: Duration,
  /// Seconds to let the server settle (finish allocating, run its GC) before reading its RSS.
  settle: f64,
  /// With `--deflate`: the size of the one message each connection exchanges (default 4 KiB).
  deflate_size: Option<usize>,
}

impl Config {
  pub fn parse(args: &Args) -> Result<Config, String> {
    Ok(Config {
      conns: args.get("conns", 10_000)?,
      open_limit: crate::seconds(args, "open-secs", 30.0)?,
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

/// One target per source address `conns` connections need, with `ports` ephemeral ports per
/// address: the server's own target alone when one source has ports enough (the kernel then
/// picks 127.0.0.1), else one per 127.0.0.2, .3, ... A source takes half the ports at most: the
/// kernel probes ports one by one until it finds a free one, which stays quick only while most
/// are free.
fn sources(conns: usize, ports: u32, target: &Target) -> Result<Vec<Target>, String> {
  let count = conns.div_ceil((ports as usize / 2).max(1));
  if count <= 1 {
    return Ok(vec![target.clone()]);
  }
  let first = u32::from(FIRST_SOURCE);
  (0..count as u32)
    .map(|k| target.with_source(Ipv4Addr::from(first + k)))
    .collect()
}

/// Opens `cfg.conns` connections with `connect`, round-robin over `targets`, within
/// `cfg.open_limit`. Errors say how many were open by then.
async fn open_all<'a, C, F>(
  cfg: &Config,
  targets: &'a [Target],
  mut connect: impl FnMut(&'a Target) -> F,
) -> Result<Vec<C>, Error>
where
  F: Future<Output = Result<C, Error>>,
{
  let opened = Cell::new(0usize);
  let spread = (0..cfg.conns).map(|i| &targets[i % targets.len()]);
  let counted = |target| connect(target).inspect_ok(|_| opened.set(opened.get() + 1));
  match tokio::time::timeout(cfg.open_limit, open_each(spread, PARALLEL, counted)).await {
    Ok(Ok(conns)) => Ok(conns),
    Ok(Err(err)) => Err(format!("{err} (with {} of {} open)", opened.get(), cfg.conns).into()),
    Err(_) => Err(
      format!(
        "only {} of {} connections open after {:.0} s (--open-secs)",
        opened.get(),
        cfg.conns,
        cfg.open_limit.as_secs_f64()
      )
      .into(),
    ),
  }
}

async fn hold(cfg: &Config, targets: &[Target]) -> Result<Held, Error> {
  let conns = open_all(cfg, targets, Target::connect).await?;
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

async fn hold_deflate(cfg: &Config, targets: &[Target], size: usize) -> Result<Held, Error> {
  let frames = deflate::messages(size, false);
  let mut turn = 0;
  let conns = open_all(cfg, targets, |target| {
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
  let ports = ephemeral_ports().ok_or("cannot read net.ipv4.ip_local_port_range")?;
  let targets = sources(cfg.conns, ports, &common.target)?;
  let before = rss();
  let started = Instant::now();
  let held = match cfg.deflate_size {
    Some(size) => hold_deflate(&cfg, &targets, size).await?,
    None => hold(&cfg, &targets).await?,
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
    .int("sources", targets.len() as u64)
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

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn spreads_over_sources_past_half_the_ports() {
    let target = Target::parse("ws://127.0.0.1:9001/", 1024).unwrap();
    let one = sources(10_000, 28_232, &target).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].source, None);
    let many = sources(100_000, 28_232, &target).unwrap();
    assert_eq!(many.len(), 8);
    assert_eq!(many[0].source, Some(Ipv4Addr::new(127, 0, 0, 2)));
    assert_eq!(many[7].source, Some(Ipv4Addr::new(127, 0, 0, 9)));
    let elsewhere = Target::parse("ws://localhost:9001/", 1024).unwrap();
    assert!(sources(100_000, 28_232, &elsewhere).is_err());
  }
}
