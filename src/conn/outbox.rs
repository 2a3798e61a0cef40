//! A connection's outbound queue: frames from JavaScript, the broadcast hub and the session's
//! control replies, in order, and messages still to be compressed. The writer task drains it in
//! bursts, compressing as it takes; between its bursts, the thread that queued frames may write
//! them itself (`write_now`), up to the first message still to be compressed.

use std::collections::VecDeque;
use std::io::{ErrorKind, IoSlice};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::conn::deflate::Outgoing;
use crate::io::direct::{self, Fd};

/// Slices handed to one `writev`; Linux accepts up to 1024, 64 already covers a large burst.
pub const MAX_SLICES: usize = 64;

/// What a queued frame costs at least, toward the backpressure bound: its allocation and its
/// slot in the queue, which a flood of empty pings' pongs would otherwise queue by the million
/// (2 bytes each on the wire, about 100 in memory). The inbound side's `EVENT_COST` rule.
pub const FRAME_COST: usize = 64;

/// What the queue holds: a frame ready for the socket, or a message the writer compresses.
pub enum Item {
  Frame(Bytes),
  Compress(Arc<Outgoing>),
}

impl Item {
  /// The bytes `bufferedAmount` counts for it: a message to compress counts its payload until
  /// the writer knows its frame.
  pub fn size(&self) -> usize {
    match self {
      Item::Frame(frame) => frame.len(),
      Item::Compress(message) => message.payload.len(),
    }
  }
}

/// A queued unit of bytes `gather` and `consume` work through.
pub trait Chunk {
  /// The bytes to write, or None for an item that cannot be written yet.
  fn bytes(&self) -> Option<&[u8]>;
  fn advance(&mut self, n: usize);
}

impl Chunk for Bytes {
  fn bytes(&self) -> Option<&[u8]> {
    Some(self)
  }
  fn advance(&mut self, n: usize) {
    Buf::advance(self, n);
  }
}

impl Chunk for Item {
  fn bytes(&self) -> Option<&[u8]> {
    match self {
      Item::Frame(frame) => Some(frame),
      Item::Compress(_) => None,
    }
  }
  fn advance(&mut self, n: usize) {
    if let Item::Frame(frame) = self {
      Buf::advance(frame, n);
    }
  }
}

#[derive(Default)]
struct Queue {
  frames: VecDeque<Item>,
  /// No frame is accepted any more; the writer exits once the queue is empty.
  finished: bool,
  /// The writer task holds frames it took and has not written yet: only it may write.
  writer_busy: bool,
  /// The socket's descriptor, while threads other than the writer task may write to it.
  fd: Option<Fd>,
  /// `write_now` sent the front frame in part: the peer has its header, so it must not be
  /// dropped.
  front_started: bool,
  /// Frames and messages queued so far (wrapping; see `Outbox::sent`).
  queued: u32,
}

/// Points `slices` at the front of `frames`, up to the first that cannot be written yet;
/// returns how many it filled.
pub fn gather<'a, T: Chunk>(frames: &'a VecDeque<T>, slices: &mut [IoSlice<'a>]) -> usize {
  let mut count = 0;
  for (slice, frame) in slices.iter_mut().zip(frames.iter()) {
    let Some(bytes) = frame.bytes() else { break };
    *slice = IoSlice::new(bytes);
    count += 1;
  }
  count
}

/// Drops the first `written` bytes of `frames`; true when that leaves the front frame partly
/// written.
pub fn consume<T: Chunk>(frames: &mut VecDeque<T>, mut written: usize) -> bool {
  let mut partly = false;
  while written > 0 {
    let front = frames
      .front_mut()
      .expect("written bytes come from queued frames");
    let len = front.bytes().map_or(0, <[u8]>::len);
    let step = written.min(len);
    front.advance(step);
    written -= step;
    partly = step < len;
    if !partly {
      frames.pop_front();
    }
  }
  partly
}

/// Frames waiting for the socket, with an exact byte count for `bufferedAmount`.
#[derive(Default)]
pub struct Outbox {
  queue: Mutex<Queue>,
  /// Bytes queued or taken by the writer but not yet written to the socket.
  buffered: AtomicUsize,
  /// Frames and messages queued or taken by the writer and not yet written whole.
  items: AtomicU32,
  wake: Notify,
  /// Set while the reader waits to see whether a backed-up socket still takes bytes.
  watching: AtomicBool,
  /// When the last write while `watching` took bytes: milliseconds since `EPOCH`, plus one (0:
  /// never).
  last_progress: AtomicU64,
  /// Frames and messages written whole so far (wrapping): a send's callback waits until it
  /// reaches the `queued` count its send left.
  sent: AtomicU32,
  /// The `sent` count JavaScript waits for, while `awaited` (see `Conn::notify_when_sent`).
  sent_wake: AtomicU32,
  awaited: AtomicBool,
}

/// The clock `last_progress` counts from.
static EPOCH: OnceLock<Instant> = OnceLock::new();

impl Outbox {
  /// Queues `frame` unless the outbox is finished; returns the bytes buffered after it.
  /// The writer is not woken: the caller decides when (see `Shared::cork`).
  pub fn push(&self, frame: Bytes) -> Option<usize> {
    self.push_item(Item::Frame(frame))
  }

  /// Queues a frame or a message to compress, as `push`.
  pub fn push_item(&self, item: Item) -> Option<usize> {
    let len = item.size();
    let mut queue = self.queue.lock().unwrap();
    if queue.finished {
      return None;
    }
    queue.frames.push_back(item);
    queue.queued = queue.queued.wrapping_add(1);
    self.items.fetch_add(1, Ordering::SeqCst);
    // Counted under the lock, so that no write can subtract the frame before it is added.
    Some(self.buffered.fetch_add(len, Ordering::AcqRel) + len)
  }

  pub fn buffered(&self) -> usize {
    // Sequentially consistent with `written` and `watch`: a write and the reader's watch
    // beginning each see the other's change (see `session::Stall::update`).
    self.buffered.load(Ordering::SeqCst)
  }

  /// What the queue weighs against the backpressure bound: its bytes, each frame counted as at
  /// least `FRAME_COST`.
  pub fn weight(&self) -> usize {
    self.buffered() + FRAME_COST * self.items.load(Ordering::SeqCst) as usize
  }

  /// Lets the writer run.
  pub fn wake(&self) {
    self.wake.notify_one();
  }

  /// Drops every frame not yet taken by the writer (a failing connection's queue is moot).
  /// A frame already started on the wire is kept, or the peer would read what follows as its
  /// payload.
  pub fn clear(&self) {
    let mut queue = self.queue.lock().unwrap();
    let keep = usize::from(queue.front_started);
    let before = queue.frames.len();
    let dropped: usize = queue.frames.drain(keep..).map(|f| f.size()).sum();
    self.buffered.fetch_sub(dropped, Ordering::AcqRel);
    let left = queue.frames.len();
    self
      .items
      .fetch_sub((before - left) as u32, Ordering::SeqCst);
  }

  /// Accepts nothing more; the writer drains what is queued and exits.
  pub fn finish(&self) {
    self.queue.lock().unwrap().finished = true;
    self.wake();
  }

  /// Lets threads other than the writer task write to the socket `fd` between its bursts.
  pub fn attach_fd(&self, fd: Fd) {
    self.queue.lock().unwrap().fd = Some(fd);
  }

  /// Ends `attach_fd`, before the socket is closed: once this returns, no write to `fd` is
  /// under way and none will start.
  pub fn detach_fd(&self) {
    self.queue.lock().unwrap().fd = None;
  }

  /// Calls `f` with the socket's descriptor while it is attached, holding it open for the call
  /// (`detach_fd` waits); None once the socket is closing or when there is none (a bridge).
  pub fn with_fd<T>(&self, f: impl FnOnce(Fd) -> T) -> Option<T> {
    let queue = self.queue.lock().unwrap();
    queue.fd.map(f)
  }

  /// Writes the queued frames to the socket from the calling thread, when the socket's
  /// descriptor is attached and the writer task is not mid-burst. Returns the bytes still
  /// buffered once every frame is written; None when the writer task must finish the job (it is
  /// busy, the socket is full or failed, or there is no descriptor).
  pub fn write_now(&self) -> Option<usize> {
    let mut queue = self.queue.lock().unwrap();
    let fd = queue.fd.filter(|_| !queue.writer_busy)?;
    while !queue.frames.is_empty() {
      let mut slices = [IoSlice::new(&[]); MAX_SLICES];
      let count = gather(&queue.frames, &mut slices);
      if count == 0 {
        // A message to compress: the writer task's job, on an engine thread.
        return None;
      }
      match direct::write_vectored(fd, &slices[..count]) {
        Ok(0) => return None,
        Ok(written) => {
          let before = queue.frames.len();
          queue.front_started = consume(&mut queue.frames, written);
          self.written(written, before - queue.frames.len());
        }
        Err(e) if e.kind() == ErrorKind::Interrupted => {}
        // Would block: the writer task waits for the socket. Failed: it meets the error too.
        Err(_) => return None,
      }
    }
    Some(self.buffered())
  }

  /// Moves every queued frame into `into`, waiting while there is none, and holds the write
  /// turn until the next call; messages to compress become frames through `compress`, outside
  /// the lock. Returns false when the outbox is finished and empty.
  pub async fn take(
    &self,
    into: &mut VecDeque<Bytes>,
    compress: impl Fn(&Outgoing) -> Bytes,
  ) -> bool {
    loop {
      // Nothing but the wait is held across it: this future is in every idle connection.
      if let Some(more) = self.take_queued(into, &compress) {
        return more;
      }
      self.wake.notified().await;
    }
  }

  /// `take` without the wait: None when the queue is empty and not finished.
  fn take_queued(
    &self,
    into: &mut VecDeque<Bytes>,
    compress: impl Fn(&Outgoing) -> Bytes,
  ) -> Option<bool> {
    let taken = {
      let mut queue = self.queue.lock().unwrap();
      queue.writer_busy = !queue.frames.is_empty();
      if queue.finished && !queue.writer_busy {
        return Some(false);
      }
      // A frame started by `write_now` is the writer's to finish now.
      queue.front_started = false;
      std::mem::take(&mut queue.frames)
    };
    if taken.is_empty() {
      return None;
    }
    for item in taken {
      into.push_back(match item {
        Item::Frame(frame) => frame,
        Item::Compress(message) => {
          let frame = compress(&message);
          // Added before the estimate goes, so the count never dips below what is queued.
          self.buffered.fetch_add(frame.len(), Ordering::AcqRel);
          self
            .buffered
            .fetch_sub(message.payload.len(), Ordering::AcqRel);
          frame
        }
      });
    }
    Some(true)
  }

  /// Records that `n` bytes reached the socket, completing `whole` frames; returns the bytes
  /// still buffered.
  pub fn written(&self, n: usize, whole: usize) -> usize {
    // Sequentially consistent with `await_sent`, as `take_sent` needs (see there).
    self.sent.fetch_add(whole as u32, Ordering::SeqCst);
    self.items.fetch_sub(whole as u32, Ordering::SeqCst);
    let left = self.buffered.fetch_sub(n, Ordering::SeqCst) - n;
    if self.watching.load(Ordering::SeqCst) {
      let since = EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64;
      self.last_progress.store(since + 1, Ordering::Release);
    }
    left
  }

  /// Frames and messages queued so far (wrapping): what `sent` must reach for all of them.
  pub fn queued(&self) -> u32 {
    self.queue.lock().unwrap().queued
  }

  /// Frames and messages written whole so far (wrapping).
  pub fn sent(&self) -> u32 {
    self.sent.load(Ordering::SeqCst)
  }

  /// Whether `sent` has reached `target` (a `queued` value), counting across the wrap.
  pub fn has_sent(&self, target: u32) -> bool {
    self.sent().wrapping_sub(target) as i32 >= 0
  }

  /// Waits for `sent` to reach `target` (see `take_sent`).
  pub fn await_sent(&self, target: u32) {
    self.sent_wake.store(target, Ordering::SeqCst);
    self.awaited.store(true, Ordering::SeqCst);
  }

  /// True once, when `sent` has reached the awaited target. The thread that waits stores
  /// `awaited` then reads `sent`; a writer adds to `sent` then reads `awaited`: all sequentially
  /// consistent, so at least one of them sees the other's change and the wake-up is never lost.
  pub fn take_sent(&self) -> bool {
    self.awaited.load(Ordering::SeqCst)
      && self.has_sent(self.sent_wake.load(Ordering::SeqCst))
      && self.awaited.swap(false, Ordering::SeqCst)
  }

  /// When a write last took bytes while `watch(true)` was in force.
  pub fn last_progress(&self) -> Option<Instant> {
    match self.last_progress.load(Ordering::Acquire) {
      0 => None,
      since => Some(*EPOCH.get()? + Duration::from_millis(since - 1)),
    }
  }

  pub fn is_watched(&self) -> bool {
    self.watching.load(Ordering::SeqCst)
  }

  /// Turns the `last_progress` record on or off (off for a connection that is not backed up,
  /// so that writes cost nothing extra).
  pub fn watch(&self, on: bool) {
    self.watching.store(on, Ordering::SeqCst);
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
    assert!(out.take(&mut taken, |_| unreachable!()).await);
    assert_eq!(taken.len(), 2);
    assert_eq!(out.buffered(), 5);
    assert_eq!(out.written(5, 2), 0);
  }

  #[tokio::test]
  async fn finished_outbox_refuses_frames_and_ends_the_writer() {
    let out = Outbox::default();
    out.push(Bytes::from_static(b"last"));
    out.finish();
    assert_eq!(out.push(Bytes::from_static(b"late")), None);
    let mut taken = VecDeque::new();
    assert!(out.take(&mut taken, |_| unreachable!()).await);
    assert!(!out.take(&mut taken, |_| unreachable!()).await);
  }

  #[tokio::test]
  async fn write_now_writes_between_the_writers_bursts_only() {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    let out = Outbox::default();
    out.push(Bytes::from_static(b"ab"));
    assert_eq!(out.write_now(), None, "no descriptor attached");
    out.attach_fd(a.as_raw_fd());
    out.push(Bytes::from_static(b"cd"));
    assert_eq!(out.write_now(), Some(0));
    let mut got = [0; 4];
    b.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"abcd");

    out.push(Bytes::from_static(b"ef"));
    let mut taken = VecDeque::new();
    assert!(out.take(&mut taken, |_| unreachable!()).await);
    out.push(Bytes::from_static(b"gh"));
    assert_eq!(out.write_now(), None, "the writer task holds the turn");
    out.detach_fd();
    assert_eq!(out.write_now(), None);
    assert_eq!(out.buffered(), 4);
  }

  #[tokio::test]
  async fn messages_to_compress_wait_for_the_writer_and_keep_their_place() {
    use crate::protocol::frame::Kind;
    use std::os::fd::AsRawFd;
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let out = Outbox::default();
    out.attach_fd(a.as_raw_fd());
    out.push(Bytes::from_static(b"ab"));
    let message = Arc::new(Outgoing::new(Kind::Text, Bytes::from_static(b"payload")));
    out.push_item(Item::Compress(message));
    out.push(Bytes::from_static(b"cd"));
    assert_eq!(out.write_now(), None, "stops at the message");
    assert_eq!(out.buffered(), 7 + 2);
    let mut taken = VecDeque::new();
    assert!(out.take(&mut taken, |_| Bytes::from_static(b"XYZ")).await);
    assert_eq!(taken, [&b"XYZ"[..], b"cd"]);
    assert_eq!(out.buffered(), 3 + 2);
  }

  #[test]
  fn consume_advances_across_frames() {
    let mut frames: VecDeque<Bytes> = [&b"abc"[..], b"de", b"f"]
      .into_iter()
      .map(Bytes::from_static)
      .collect();
    assert!(consume(&mut frames, 4), "\"de\" is half written");
    assert_eq!(frames, [&b"e"[..], b"f"]);
    assert!(!consume(&mut frames, 1));
    assert_eq!(frames, [&b"f"[..]]);
  }

  #[test]
  fn clear_keeps_a_frame_already_started_on_the_wire() {
    use std::os::fd::AsRawFd;
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let out = Outbox::default();
    out.attach_fd(a.as_raw_fd());
    // Larger than the socket buffer: the write stops inside the first frame.
    out.push(Bytes::from(vec![1u8; 4 << 20]));
    out.push(Bytes::from_static(b"queued"));
    assert_eq!(out.write_now(), None);
    let rest_of_first = out.buffered() - 6;
    assert!(rest_of_first > 0 && rest_of_first < 4 << 20);
    out.clear();
    assert_eq!(out.buffered(), rest_of_first);
  }

  #[tokio::test]
  async fn a_waiter_is_told_once_when_the_frames_it_waits_for_are_written() {
    let out = Outbox::default();
    out.push(Bytes::from_static(b"ab"));
    out.push(Bytes::from_static(b"cd"));
    let target = out.queued();
    out.push(Bytes::from_static(b"ef"));
    out.await_sent(target);
    assert!(!out.take_sent());
    out.written(3, 1);
    assert!(!out.take_sent(), "the second frame is only half written");
    out.written(1, 1);
    assert!(out.take_sent());
    assert!(!out.take_sent(), "told once");
    assert_eq!((out.queued(), out.sent()), (3, 2));
  }

  #[tokio::test]
  async fn progress_is_recorded_only_while_watched() {
    let out = Outbox::default();
    out.push(Bytes::from_static(b"abcd"));
    out.written(1, 0);
    assert_eq!(out.last_progress(), None, "not recorded while not watching");
    out.watch(true);
    let before = Instant::now();
    out.written(1, 0);
    let at = out.last_progress().expect("recorded while watching");
    assert!(at + Duration::from_millis(1) >= before && at <= Instant::now());
  }

  #[test]
  fn clear_forgets_queued_bytes() {
    let out = Outbox::default();
    out.push(Bytes::from_static(b"abcd"));
    out.clear();
    assert_eq!(out.buffered(), 0);
  }
}
