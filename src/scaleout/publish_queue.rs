//! The bounded queue from the JavaScript thread to the task that publishes to Redis.
//!
//! Pushing never blocks and never waits on Redis: when the queue is full its oldest envelope is
//! dropped and counted (Redis pub/sub is at-most-once anyway). While Redis is down the queue is
//! closed: what is sent meanwhile is dropped, so nothing stale is replayed after a reconnect.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;

/// Bounds: a burst survives, a long stall cannot grow memory.
const MAX_MESSAGES: usize = 65536;
const MAX_BYTES: usize = 64 << 20;
/// Envelopes taken at once (one pipeline): one round trip per burst, bounded so a reply never
/// waits long.
pub const BATCH: usize = 1024;

#[derive(Default)]
struct Queue {
  envelopes: VecDeque<Vec<u8>>,
  bytes: usize,
  closed: bool,
}

#[derive(Default)]
pub struct PublishQueue {
  queue: Mutex<Queue>,
  ready: Notify,
  dropped: AtomicU64,
}

impl PublishQueue {
  /// Queues `envelope`, dropping the oldest ones above the bounds.
  pub fn push(&self, envelope: Vec<u8>) {
    let mut q = self.queue.lock().unwrap();
    if q.closed {
      drop(q);
      self.dropped.fetch_add(1, Ordering::Relaxed);
      return;
    }
    let was_empty = q.envelopes.is_empty();
    q.bytes += envelope.len();
    q.envelopes.push_back(envelope);
    let mut dropped = 0;
    while q.envelopes.len() > MAX_MESSAGES || (q.bytes > MAX_BYTES && q.envelopes.len() > 1) {
      let oldest = q.envelopes.pop_front().expect("the queue is not empty");
      q.bytes -= oldest.len();
      dropped += 1;
    }
    drop(q);
    if dropped > 0 {
      self.dropped.fetch_add(dropped, Ordering::Relaxed);
    }
    // The task drains everything it finds, so only the first envelope needs to wake it.
    if was_empty {
      self.ready.notify_one();
    }
  }

  /// Opens (Redis is up) or closes (it is down: what is queued is dropped) the queue.
  pub fn set_open(&self, open: bool) {
    let mut q = self.queue.lock().unwrap();
    q.closed = !open;
    if !open {
      let n = q.envelopes.len() as u64;
      q.envelopes.clear();
      q.bytes = 0;
      self.dropped.fetch_add(n, Ordering::Relaxed);
    }
  }

  /// Counts `n` envelopes taken from the queue that Redis may not have received: their
  /// publish failed with the connection.
  pub fn lost(&self, n: usize) {
    self.dropped.fetch_add(n as u64, Ordering::Relaxed);
  }

  /// Envelopes dropped because the queue was full or closed, or their publish failed.
  pub fn dropped(&self) -> u64 {
    self.dropped.load(Ordering::Relaxed)
  }

  /// Moves up to `BATCH` envelopes into `into`, waiting while there is none.
  pub async fn take(&self, into: &mut Vec<Vec<u8>>) {
    loop {
      {
        let mut q = self.queue.lock().unwrap();
        if !q.envelopes.is_empty() {
          let n = q.envelopes.len().min(BATCH);
          for envelope in q.envelopes.drain(..n) {
            into.push(envelope);
          }
          let taken: usize = into[into.len() - n..].iter().map(Vec::len).sum();
          q.bytes -= taken;
          return;
        }
      }
      self.ready.notified().await;
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_full_queue_drops_its_oldest_and_counts_it() {
    let queue = PublishQueue::default();
    for i in 0..(MAX_MESSAGES + 3) {
      queue.push((i as u32).to_be_bytes().to_vec());
    }
    assert_eq!(queue.dropped(), 3);
    let q = queue.queue.lock().unwrap();
    assert_eq!(q.envelopes.front().unwrap(), &3u32.to_be_bytes().to_vec());
    assert_eq!(q.bytes, MAX_MESSAGES * 4);
  }

  #[test]
  fn a_large_backlog_is_bounded_by_bytes() {
    let queue = PublishQueue::default();
    for _ in 0..5 {
      queue.push(vec![0; MAX_BYTES / 4]);
    }
    assert_eq!(queue.dropped(), 1);
    assert_eq!(queue.queue.lock().unwrap().bytes, MAX_BYTES);
  }

  #[test]
  fn nothing_is_queued_while_redis_is_down() {
    let queue = PublishQueue::default();
    queue.push(vec![1]);
    queue.set_open(false);
    queue.push(vec![2]);
    assert_eq!(queue.dropped(), 2);
    queue.set_open(true);
    queue.push(vec![3]);
    assert_eq!(queue.queue.lock().unwrap().envelopes.len(), 1);
  }

  #[tokio::test]
  async fn take_returns_a_bounded_batch() {
    let queue = PublishQueue::default();
    for _ in 0..(BATCH + 1) {
      queue.push(vec![0; 10]);
    }
    let mut batch = Vec::new();
    queue.take(&mut batch).await;
    assert_eq!(batch.len(), BATCH);
    assert_eq!(queue.queue.lock().unwrap().bytes, 10);
  }
}
