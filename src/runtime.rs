//! The process-wide tokio runtime, started on first use.
//!
//! `FERROWS_WORKER_THREADS` sets its worker count (read once, here). The default is one worker:
//! Node's own thread runs the JavaScript side, and on small machines extra workers spend more on
//! waking each other than they gain.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

fn worker_threads() -> usize {
  std::env::var("FERROWS_WORKER_THREADS")
    .ok()
    .and_then(|v| v.parse::<usize>().ok())
    .filter(|n| *n > 0)
    .unwrap_or(1)
}

pub fn get() -> &'static Runtime {
  static RUNTIME: OnceLock<Runtime> = OnceLock::new();
  RUNTIME.get_or_init(|| {
    Builder::new_multi_thread()
      .worker_threads(worker_threads())
      .thread_name("ferrows")
      .enable_io()
      .enable_time()
      .build()
      .expect("the tokio runtime must start")
  })
}
