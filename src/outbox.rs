//! A connection's outbound queue: frames from JavaScript, the broadcast hub and tungstenite's
//! control replies, in order, drained by the writer task in bursts.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::Notify;

#[derive(Default)]
struct Queue {
  frames: VecDeque<Bytes>,
  /// No frame is accepted any more; the writer exits once the queue is empty.
  finished: bool,
}

/// Frames waiting for the socket, with an exact byte count for `bufferedAmount`.
#[derive(Default)]
pub struct Outbox {
  queue: Mutex<Queue>,
  /// Bytes queued or taken by the writer but not yet written to the socket.
  buffered: AtomicUsize,
  wake: Notify,
}

impl Outbox {
  /// Queues `frame` unless the outbox is finished; returns the bytes buffered after it.
  /// The writer is not woken: the caller decides when (see `Shared::cork`).
  pub fn push(&self, frame: Bytes) -> Option<usize> {
    let len = frame.len();
    let mut queue = self.queue.lock().unwrap();
    if queue.finished {
      return None;
    }
    queue.frames.push_back(frame);
    drop(queue);
    Some(self.buffered.fetch_add(len, Ordering::AcqRel) + len)
  }

  pub fn buffered(&self) -> usize {
    self.buffered.load(Ordering::Acquire)
  }

  /// Lets the writer run.
  pub fn wake(&self) {
    self.wake.notify_one();
  }

  /// Drops every frame not yet taken by the writer (a failing connection's queue is moot).
  pub fn clear(&self) {
    let mut queue = self.queue.lock().unwrap();
    let dropped: usize = queue.frames.drain(..).map(|f| f.len()).sum();
    drop(queue);
    self.buffered.fetch_sub(dropped, Ordering::AcqRel);
  }

  /// Accepts nothing more; the writer drains what is queued and exits.
  pub fn finish(&self) {
    self.queue.lock().unwrap().finished = true;
    self.wake();
  }

  /// Moves every queued frame into `into`, waiting while there is none. Returns false when the
  /// outbox is finished and empty.
  pub async fn take(&self, into: &mut VecDeque<Bytes>) -> bool {
    loop {
      {
        let mut queue = self.queue.lock().unwrap();
        if !queue.frames.is_empty() {
          into.append(&mut queue.frames);
          return true;
        }
        if queue.finished {
          return false;
        }
      }
      self.wake.notified().await;
    }
  }

  /// Records that `n` bytes reached the socket; returns the bytes still buffered.
  pub fn written(&self, n: usize) -> usize {
    self.buffered.fetch_sub(n, Ordering::AcqRel) - n
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[tokio::test]
  async fn counts_bytes_until_written() {
    let out = Outbox::default();
    assert_eq!(out.push(Bytes::from_static(b"abc")), Some(3));
    assert_eq!(out.push(Bytes::from_static(b"de")), Some(5));
    let mut taken = VecDeque::new();
    assert!(out.take(&mut taken).await);
    assert_eq!(taken.len(), 2);
    assert_eq!(out.buffered(), 5);
    assert_eq!(out.written(5), 0);
  }

  #[tokio::test]
  async fn finished_outbox_refuses_frames_and_ends_the_writer() {
    let out = Outbox::default();
    out.push(Bytes::from_static(b"last"));
    out.finish();
    assert_eq!(out.push(Bytes::from_static(b"late")), None);
    let mut taken = VecDeque::new();
    assert!(out.take(&mut taken).await);
    assert!(!out.take(&mut taken).await);
  }

  #[test]
  fn clear_forgets_queued_bytes() {
    let out = Outbox::default();
    out.push(Bytes::from_static(b"abcd"));
    out.clear();
    assert_eq!(out.buffered(), 0);
  }
}
