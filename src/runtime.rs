//! The process-wide tokio runtime, started on first use.
//!
//! `FERROWS_WORKER_THREADS` sets its worker count (read once, here). The default is one worker:
//! Node's own thread runs the JavaScript side, and on small machines extra workers spend more on
//! waking each other than they gain.
//!
//! On Linux the workers run under SCHED_BATCH (`FERROWS_SCHED_BATCH=0` keeps the normal policy).
//! They keep their fair share of CPU, but a worker woken by incoming data no longer preempts the
//! JavaScript thread in the middle of a job: where both share a core, JavaScript finishes its
//! batch and flush, then the worker reads everything that arrived meanwhile in one pass. On one
//! core this measured 12-19% less CPU per message and a lower round-trip latency. Only a worker
//! that started under the normal policy (SCHED_OTHER) is moved: one that inherited a real-time
//! class from a process run under `chrt` keeps it, or the real-time JavaScript thread would
//! starve it.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

fn worker_threads() -> usize {
  std::env::var("FERROWS_WORKER_THREADS")
    .ok()
    .and_then(|v| v.parse::<usize>().ok())
    .filter(|n| *n > 0)
    .unwrap_or(1)
}

/// Puts the calling thread under SCHED_BATCH when it runs under SCHED_OTHER, unless
/// `FERROWS_SCHED_BATCH=0`; a refusal leaves the policy as it was, which only costs speed.
#[cfg(target_os = "linux")]
fn batch_scheduling() {
  if std::env::var("FERROWS_SCHED_BATCH").is_ok_and(|v| v == "0") {
    return;
  }
  // SAFETY: reads the calling thread's policy.
  if unsafe { libc::sched_getscheduler(0) } != libc::SCHED_OTHER {
    return;
  }
  let param = libc::sched_param { sched_priority: 0 };
  // SAFETY: changes only the calling thread's policy; `param` lives for the call.
  unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
}

#[cfg(not(target_os = "linux"))]
fn batch_scheduling() {}

pub fn get() -> &'static Runtime {
  static RUNTIME: OnceLock<Runtime> = OnceLock::new();
  RUNTIME.get_or_init(|| {
    Builder::new_multi_thread()
      .worker_threads(worker_threads())
      .thread_name("ferrows")
      .on_thread_start(batch_scheduling)
      .enable_io()
      .enable_time()
      .build()
      .expect("the tokio runtime must start")
  })
}
