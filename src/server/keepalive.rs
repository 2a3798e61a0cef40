//! Server pings and the idle cut-off for every connection of a server: one sweep instead of a
//! timer per connection, so that an idle connection holds no timer. The sweep ticks eight times
//! per period: each tick checks every connection's silence (a silent peer is cut at most a
//! quarter period late) and pings one slice of them (by id), so that every connection is pinged
//! once per period and the pings leave spread over it rather than in one burst.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use crate::config::ServerConfig;
use crate::conn::{Conn, OPEN};
use crate::protocol::frame::{self, Kind};
use crate::server::Shared;

/// Ticks per period.
const SLICES: u32 = 8;

/// The time between two visits of a connection: the ping interval, or the idle timeout when
/// there are no pings; None when neither is set.
pub fn period(config: &ServerConfig) -> Option<Duration> {
  let period = if config.ping_interval.is_zero() {
    config.idle_timeout
  } else {
    config.ping_interval
  };
  (!period.is_zero()).then_some(period)
}

/// Runs while the server lives.
pub async fn sweep(server: Weak<Shared>, period: Duration) {
  let tick = (period / SLICES).max(Duration::from_millis(1));
  let mut ticker = interval_at(Instant::now() + tick, tick);
  ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
  let epoch = Instant::now();
  // Silences are counted in milliseconds, which wrap after 49 days: they are differences,
  // taken wrapping. Pings share one frame.
  let (idle, ping) = match server.upgrade() {
    Some(server) => (
      server.config.idle_timeout.as_millis().min(u32::MAX as u128) as u32,
      (!server.config.ping_interval.is_zero()).then(|| frame::encode(Kind::Ping, b"", 0)),
    ),
    None => return,
  };
  let mut slice = 0;
  loop {
    ticker.tick().await;
    let Some(server) = server.upgrade() else {
      return;
    };
    let now = epoch.elapsed().as_millis() as u32;
    server.for_each_conn(|conn| {
      let ping = ping.as_ref().filter(|_| conn.id % SLICES == slice);
      visit(conn, now, idle, ping);
    });
    slice = (slice + 1) % SLICES;
  }
}

/// Cuts `conn` if it has been silent for `idle` milliseconds (0: never), else sends it `ping`
/// if given. A connection whose read loop has ended is left alone: its ending has its own
/// timeouts, and a cut there would replace the close code of a failure with 1006.
fn visit(conn: &Arc<Conn>, now: u32, idle: u32, ping: Option<&Bytes>) {
  if conn.is_ending() {
    return;
  }
  if !conn.reads() {
    // Silence only counts while the engine reads the peer: not while the application paused
    // it, JavaScript holds its inbound credit, or the connection is backed up (the stall clock
    // then decides).
    conn.heard();
  }
  if idle > 0 && conn.silent_for(now) >= idle {
    conn.terminate();
  } else if let Some(ping) = ping.filter(|_| conn.ready_state() == OPEN) {
    let _ = conn.out.push(ping.clone());
    conn.out.wake();
  }
}
