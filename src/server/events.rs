//! Events from connection tasks to JavaScript, packed in batches that cross the boundary in one
//! threadsafe-function call (made by the `napi` layer; this module knows nothing of N-API).
//!
//! A batch is three values: a `Uint32Array` of `[head, connection id, start, end]` quads, one
//! string holding every text payload (ranges in UTF-16 units, as `String#slice`
//! counts) and one Buffer holding every binary payload. The first event pushed into an empty
//! queue schedules a call; the call takes one batch and schedules another if more are waiting,
//! so a burst is delivered in order without starving Node's event loop.
//!
//! An event pushed by an engine task is scheduled when the worker has run the tasks woken with it
//! (at its next park, or at its next maintenance, every 61 polls, under sustained load): the
//! messages that arrived together reach JavaScript in one call, and what JavaScript sends in
//! answer leaves in one flush. Scheduled at once, the call woke the JavaScript thread at the
//! first message; sharing a core, it preempted the worker and handled that message alone, and
//! the rest in a second call (a chat room's publishers, counted per job: about half the jobs
//! carried one message). A task about to work long (`LONG_WORK_BYTES`) makes that call first
//! (`EventQueue::hurry`), so the events already queued do not wait for its work.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::conn::Conn;
use crate::io::bridge::{BridgeEvent, BridgeEvents};
use crate::protocol::failure::Failure;

/// A quad's head: the kind in the low 8 bits, a small detail (an error code's index in
/// `ErrorCode::ALL`) in the next 8, and a 16-bit number (a close code, an attempt) in the high 16.
fn head(kind: EventKind, detail: u8, number: u16) -> u32 {
  kind as u32 | u32::from(detail) << 8 | u32::from(number) << 16
}

/// What happened; the low 8 bits of a quad's head. The JavaScript side reads this table from
/// the addon (`protocol().events`), never its own copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum EventKind {
  Text = 1,
  Binary = 2,
  Ping = 3,
  Pong = 4,
  Drain = 5,
  /// The connection ended; the code is the head's number, the reason in the text range.
  Close = 6,
  /// The connection failed: the close code sent is the head's number, the error code's index
  /// its detail, the message in the text range. JavaScript answers `caughtUp()` once every
  /// earlier event is handled.
  Error = 7,
  /// Bridged connections only: bytes for `socket.write` (binary range).
  BridgeWrite = 8,
  /// Bridged connections only: the engine is done writing; `socket.end()`.
  BridgeEnd = 9,
  /// Bridged connections only: the engine read below the bound; `socket.resume()`.
  BridgeResume = 10,
  /// Scale-out (connection id 0): connected and subscribed to Redis.
  RedisReady = 11,
  /// Scale-out: Redis is unreachable or the connection was lost; the text range holds why.
  RedisError = 12,
  /// Scale-out: reconnecting; the attempt (saturated at 65535) is the head's number, the text
  /// range holds the last failure.
  RedisReconnect = 13,
  /// The peer's close frame arrived after every earlier message; JavaScript answers
  /// `caughtUp()` once it has handled them, and the engine then sends its close reply.
  PeerClose = 14,
  /// The frames JavaScript waits for are written (its send callbacks may run).
  Written = 15,
}

impl EventKind {
  /// Every kind with its name, for the JavaScript side.
  pub const ALL: [(EventKind, &'static str); 15] = [
    (EventKind::Text, "TEXT"),
    (EventKind::Binary, "BINARY"),
    (EventKind::Ping, "PING"),
    (EventKind::Pong, "PONG"),
    (EventKind::Drain, "DRAIN"),
    (EventKind::Close, "CLOSE"),
    (EventKind::Error, "ERROR"),
    (EventKind::BridgeWrite, "BRIDGE_WRITE"),
    (EventKind::BridgeEnd, "BRIDGE_END"),
    (EventKind::BridgeResume, "BRIDGE_RESUME"),
    (EventKind::RedisReady, "REDIS_READY"),
    (EventKind::RedisError, "REDIS_ERROR"),
    (EventKind::RedisReconnect, "REDIS_RECONNECT"),
    (EventKind::PeerClose, "PEER_CLOSE"),
    (EventKind::Written, "WRITTEN"),
  ];
}

/// Events per batch and payload bytes per batch above which a new batch starts: large enough to
/// amortise the call, small enough to keep a call short (measured: unbounded batches got slow).
const BATCH_EVENTS: usize = 512;
const BATCH_BYTES: usize = 64 * 1024;

/// Events bound for one call into JavaScript.
#[derive(Default)]
pub struct Batch {
  /// `[head, connection id, start, end]` per event.
  pub meta: Vec<u32>,
  /// Every text payload, concatenated.
  pub text: String,
  text_units: u32,
  /// Every binary payload, concatenated.
  pub bin: Vec<u8>,
  /// Inbound credit to give back to each connection once JavaScript has its payloads.
  credit: Vec<(Arc<Conn>, u32)>,
}

fn utf16_len(s: &str) -> u32 {
  if s.is_ascii() {
    s.len() as u32
  } else {
    s.chars().map(|c| c.len_utf16() as u32).sum()
  }
}

impl Batch {
  fn is_full(&self) -> bool {
    self.meta.len() >= BATCH_EVENTS * 4 || self.text.len() + self.bin.len() >= BATCH_BYTES
  }

  fn push_text(&mut self, head: u32, id: u32, s: &str) {
    let start = self.text_units;
    self.text_units += utf16_len(s);
    self.text.push_str(s);
    self
      .meta
      .extend_from_slice(&[head, id, start, self.text_units]);
  }

  fn push_bin(&mut self, head: u32, id: u32, b: &[u8]) {
    let start = self.bin.len() as u32;
    self.bin.extend_from_slice(b);
    self
      .meta
      .extend_from_slice(&[head, id, start, self.bin.len() as u32]);
  }

  /// Gives each connection back the inbound credit its payloads took: JavaScript has them now.
  pub fn return_credit(&mut self) {
    for (conn, credit) in self.credit.drain(..) {
      conn.return_credit(credit);
    }
  }
}

/// Asks the JavaScript thread to take a batch (a threadsafe-function call, in production).
pub type Schedule = Box<dyn Fn() + Send + Sync>;

/// Makes the calls that ask JavaScript for a batch: at once, or at the end of the worker's pass.
#[derive(Default)]
struct Scheduler {
  schedule: Mutex<Option<Schedule>>,
  /// A call waits for the end of the pass (the queue's `scheduled` allows one at a time).
  asked: AtomicBool,
  /// Wakes the task that makes it (`deferred`).
  deferred: Notify,
}

impl Scheduler {
  /// Whether a schedule is set; false once released.
  fn call(&self) -> bool {
    match self.schedule.lock().unwrap().as_ref() {
      Some(schedule) => {
        schedule();
        true
      }
      None => false,
    }
  }

  /// Asks for a call: from inside a tokio task (an engine task), once the worker has run the
  /// tasks woken so far; from any other thread, at once.
  fn request(&self) {
    if tokio::task::try_id().is_some() {
      self.asked.store(true, Ordering::Release);
      self.deferred.notify_one();
    } else {
      self.call();
    }
  }

  /// Makes the call a request left for the end of the pass now.
  fn hurry(&self) {
    if self.asked.swap(false, Ordering::AcqRel) {
      self.call();
    }
  }

  /// Makes the calls requests left for the end of the worker's pass: a yielded task runs when
  /// the worker parks or does its maintenance (every 61 polls). Requests made meanwhile merge
  /// (`Notify` keeps one permit); ends once the schedule is released.
  async fn deferred(self: Arc<Self>) {
    loop {
      self.deferred.notified().await;
      tokio::task::yield_now().await;
      let called = if self.asked.swap(false, Ordering::AcqRel) {
        self.call()
      } else {
        self.schedule.lock().unwrap().is_some()
      };
      if !called {
        return;
      }
    }
  }
}

#[derive(Default)]
struct Pending {
  batches: VecDeque<Batch>,
  /// A call is queued or running and will take the front batch.
  scheduled: bool,
}

/// The queue between connection tasks and the JavaScript dispatcher of one server.
#[derive(Default)]
pub struct EventQueue {
  pending: Mutex<Pending>,
  scheduler: Arc<Scheduler>,
  /// Text payloads go in the binary buffer (as UTF-8), for a face that delivers Buffers.
  text_as_buffer: bool,
}

impl EventQueue {
  pub fn new(text_as_buffer: bool) -> Self {
    EventQueue {
      pending: Mutex::default(),
      scheduler: Arc::default(),
      text_as_buffer,
    }
  }

  /// Sets how a batch is requested; until then, and after [`Self::release`], events only queue.
  pub fn set_schedule(&self, schedule: Schedule) {
    let before = self.scheduler.schedule.lock().unwrap().replace(schedule);
    // A second deferring task would outlive the one notification `release` gives.
    debug_assert!(before.is_none(), "the schedule is set once");
    crate::runtime::get().spawn(Arc::clone(&self.scheduler).deferred());
  }

  /// Makes a call into JavaScript that waits for the end of the worker's pass now: the calling
  /// task is about to work long (`LONG_WORK_BYTES`).
  pub fn hurry(&self) {
    self.scheduler.hurry();
  }

  /// Drops the scheduler (and with it the threadsafe function): the server is gone.
  pub fn release(&self) {
    self.scheduler.schedule.lock().unwrap().take();
    self.scheduler.deferred.notify_one();
  }

  fn push(&self, fill: impl FnOnce(&mut Batch)) {
    let mut pending = self.pending.lock().unwrap();
    if pending.batches.back().is_none_or(Batch::is_full) {
      pending.batches.push_back(Batch::default());
    }
    fill(
      pending
        .batches
        .back_mut()
        .expect("a batch was just ensured"),
    );
    let schedule = !pending.scheduled;
    pending.scheduled = true;
    drop(pending);
    if schedule {
      self.scheduler.request();
    }
  }

  /// Takes the oldest batch, and requests another call if more are waiting.
  pub fn take(&self) -> Option<Batch> {
    let mut pending = self.pending.lock().unwrap();
    let batch = pending.batches.pop_front();
    let more = !pending.batches.is_empty();
    pending.scheduled = more;
    drop(pending);
    if more {
      self.scheduler.request();
    }
    batch
  }

  /// A text message; `credit` is the inbound credit it took from `conn`.
  pub fn text(&self, conn: &Arc<Conn>, s: &str, credit: u32) {
    self.push(|b| {
      if self.text_as_buffer {
        b.push_bin(EventKind::Text as u32, conn.id, s.as_bytes());
      } else {
        b.push_text(EventKind::Text as u32, conn.id, s);
      }
      if credit > 0 {
        b.credit.push((conn.clone(), credit));
      }
    });
  }

  /// A binary message, ping or pong payload; `credit` as for [`Self::text`].
  pub fn binary(&self, kind: EventKind, conn: &Arc<Conn>, data: &[u8], credit: u32) {
    self.push(|b| {
      b.push_bin(kind as u32, conn.id, data);
      if credit > 0 {
        b.credit.push((conn.clone(), credit));
      }
    });
  }

  /// An event with no payload (`Drain`, `PeerClose`).
  pub fn signal(&self, kind: EventKind, id: u32) {
    self.push(|b| b.meta.extend_from_slice(&[kind as u32, id, 0, 0]));
  }

  /// An engine failure (`failure.code` is set: an application's drop is no error).
  pub fn error(&self, id: u32, failure: &Failure) {
    let index = failure.code.map_or(0, |code| code as u8);
    let head = head(EventKind::Error, index, failure.close_code);
    self.push(|b| b.push_text(head, id, &failure.message));
  }

  /// A server-wide event (connection id 0): `number` is the head's, `text` in the range.
  pub fn server(&self, kind: EventKind, number: u16, text: &str) {
    self.push(|b| b.push_text(head(kind, 0, number), 0, text));
  }

  pub fn close(&self, id: u32, code: u16, reason: &str) {
    self.push(|b| b.push_text(head(EventKind::Close, 0, code), id, reason));
  }
}

impl Drop for EventQueue {
  /// The deferring task holds the scheduler: it ends, and lets the schedule go, with the queue.
  fn drop(&mut self) {
    self.release();
  }
}

impl BridgeEvents for EventQueue {
  fn bridge(&self, id: u32, event: BridgeEvent<'_>) {
    let (kind, data) = match event {
      BridgeEvent::Write(data) => (EventKind::BridgeWrite, data),
      BridgeEvent::End => (EventKind::BridgeEnd, &[][..]),
      BridgeEvent::Resume => (EventKind::BridgeResume, &[][..]),
    };
    self.push(|b| b.push_bin(kind as u32, id, data));
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_kind_table_lists_every_kind_by_its_number() {
    for (i, (kind, _)) in EventKind::ALL.iter().enumerate() {
      assert_eq!(*kind as usize, i + 1);
    }
  }

  #[test]
  fn an_error_event_packs_its_code_index_and_close_code() {
    use crate::protocol::failure::ErrorCode;
    let queue = EventQueue::default();
    queue.error(9, &Failure::new(1007, ErrorCode::InvalidUtf8, "bad"));
    let batch = queue.take().unwrap();
    assert_eq!(
      batch.meta[0],
      7 | (ErrorCode::InvalidUtf8 as u32) << 8 | 1007 << 16
    );
    assert_eq!(batch.text, "bad");
  }

  #[test]
  fn text_ranges_count_utf16_units() {
    let mut batch = Batch::default();
    batch.push_text(1, 7, "hé");
    batch.push_text(1, 7, "😀!");
    assert_eq!(batch.meta, vec![1, 7, 0, 2, 1, 7, 2, 5]);
  }

  #[test]
  fn the_first_event_schedules_one_call_until_the_queue_is_drained() {
    let (queue, calls) = counting_queue();
    queue.signal(EventKind::Drain, 1);
    queue.signal(EventKind::Drain, 2);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let batch = queue.take().unwrap();
    assert_eq!(batch.meta.len(), 8);
    assert!(queue.take().is_none());
    queue.signal(EventKind::Drain, 3);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
  }

  /// A queue whose calls into JavaScript are counted.
  fn counting_queue() -> (Arc<EventQueue>, Arc<std::sync::atomic::AtomicUsize>) {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let queue = Arc::new(EventQueue::default());
    let counter = calls.clone();
    queue.set_schedule(Box::new(move || {
      counter.fetch_add(1, Ordering::SeqCst);
    }));
    (queue, calls)
  }

  #[test]
  fn what_an_engine_task_pushes_is_scheduled_once_after_it_ran() {
    let (queue, calls) = counting_queue();
    let (pushed, seen) = (queue.clone(), calls.clone());
    let task = crate::runtime::get().spawn(async move {
      pushed.signal(EventKind::Drain, 1);
      pushed.signal(EventKind::Drain, 2);
      seen.load(Ordering::SeqCst)
    });
    let during = crate::runtime::get().block_on(task).unwrap();
    assert_eq!(during, 0, "no call while the task runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while calls.load(Ordering::SeqCst) == 0 {
      assert!(
        std::time::Instant::now() < deadline,
        "the call was never scheduled"
      );
      std::thread::yield_now();
    }
    assert_eq!(queue.take().unwrap().meta.len(), 8);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
  }

  #[test]
  fn hurry_makes_the_call_at_once_and_the_end_of_the_pass_none() {
    let (queue, calls) = counting_queue();
    let (pushed, seen) = (queue.clone(), calls.clone());
    let task = crate::runtime::get().spawn(async move {
      pushed.signal(EventKind::Drain, 1);
      let before = seen.load(Ordering::SeqCst);
      pushed.hurry();
      let after = seen.load(Ordering::SeqCst);
      // The worker parks here, so the deferring task has run when this ends.
      tokio::time::sleep(std::time::Duration::from_millis(20)).await;
      (before, after, seen.load(Ordering::SeqCst))
    });
    let counts = crate::runtime::get().block_on(task).unwrap();
    assert_eq!(counts, (0, 1, 1));
  }

  #[test]
  fn a_full_batch_starts_another_and_taking_one_reschedules() {
    let (queue, calls) = counting_queue();
    for id in 0..(BATCH_EVENTS as u32 + 1) {
      queue.signal(EventKind::Drain, id);
    }
    assert_eq!(queue.take().unwrap().meta.len(), BATCH_EVENTS * 4);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(queue.take().unwrap().meta.len(), 4);
  }

  #[test]
  fn a_batch_is_full_by_count_or_bytes() {
    let mut batch = Batch::default();
    batch.push_bin(2, 1, &vec![0; BATCH_BYTES]);
    assert!(batch.is_full());
    let mut batch = Batch::default();
    for _ in 0..BATCH_EVENTS {
      batch.push_bin(2, 1, b"x");
    }
    assert!(batch.is_full());
  }
}
