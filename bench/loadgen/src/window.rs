//! The measurement window (after a warmup) and the CPU sampling around it.
//!
//! Rates count only what completes inside the window. A plain OS thread samples CPU times at
//! the window's edges, so the samples are on time even when the async runtime is saturated.

use crate::json::JsonLine;
use crate::sys;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// At or above this share of one core the loadgen, not the server, may be the bottleneck.
pub const SATURATED_PCT: f64 = 90.0;

#[derive(Clone, Copy)]
pub struct Window {
  pub start: Instant,
  pub end: Instant,
}

impl Window {
  /// A window that opens after `warmup` from now and lasts `duration`.
  pub fn after(warmup: Duration, duration: Duration) -> Window {
    let start = Instant::now() + warmup;
    Window {
      start,
      end: start + duration,
    }
  }

  pub fn contains(&self, t: Instant) -> bool {
    t >= self.start && t < self.end
  }

  pub fn secs(&self) -> f64 {
    (self.end - self.start).as_secs_f64()
  }
}

/// CPU used during the window.
pub struct Usage {
  pub wall: Duration,
  pub loadgen_cpu: Duration,
  pub server_cpu_us: Option<u64>,
}

impl Usage {
  pub fn loadgen_cpu_pct(&self) -> f64 {
    100.0 * self.loadgen_cpu.as_secs_f64() / self.wall.as_secs_f64()
  }

  /// Appends the CPU fields; `ops` is what the scenario counts as one operation (a message, a
  /// delivery, a connection) inside the window.
  pub fn write(&self, json: JsonLine, ops: u64) -> JsonLine {
    let pct = self.loadgen_cpu_pct();
    let server_pct = self
      .server_cpu_us
      .map(|us| us as f64 / 1e4 / self.wall.as_secs_f64());
    let per_op = self
      .server_cpu_us
      .filter(|_| ops > 0)
      .map(|us| us as f64 / ops as f64);
    json
      .num("loadgen_cpu_pct", pct, 1)
      .bool("loadgen_saturated", pct >= SATURATED_PCT)
      .opt_num("server_cpu_pct", server_pct, 1)
      .opt_num("server_cpu_us_per_op", per_op, 3)
  }
}

pub struct Sampler(JoinHandle<Usage>);

struct Sample {
  at: Instant,
  own: Duration,
  server_us: Option<u64>,
}

/// The servers' CPU is the sum over every PID (all the nodes of a scale-out run); None when
/// there is none, or when one of them cannot be read.
fn sample(server_pids: &[u32]) -> Sample {
  let server_us = match server_pids {
    [] => None,
    pids => pids.iter().map(|&pid| sys::process_cpu_us(pid)).sum(),
  };
  Sample {
    at: Instant::now(),
    own: sys::own_cpu(),
    server_us,
  }
}

fn sleep_until(t: Instant) {
  if let Some(left) = t.checked_duration_since(Instant::now()) {
    std::thread::sleep(left);
  }
}

impl Sampler {
  pub fn start(window: Window, server_pids: &[u32]) -> Sampler {
    let pids = server_pids.to_vec();
    Sampler(std::thread::spawn(move || {
      sleep_until(window.start);
      let first = sample(&pids);
      sleep_until(window.end);
      let last = sample(&pids);
      Usage {
        wall: last.at - first.at,
        loadgen_cpu: last.own.saturating_sub(first.own),
        server_cpu_us: match (first.server_us, last.server_us) {
          (Some(a), Some(b)) => Some(b.saturating_sub(a)),
          _ => None,
        },
      }
    }))
  }

  /// Call after the window has ended: the thread is then finished or about to be.
  pub fn finish(self) -> Usage {
    self.0.join().expect("the sampler thread does not panic")
  }
}
