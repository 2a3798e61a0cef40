//! One connection's state shared by its tasks and the JavaScript thread: the outbox, the
//! inbound credit, the ready state and the requests (close, fail, terminate) JavaScript makes.
//! What a connection needs from the server that owns it is the `Host` trait, so this layer
//! knows nothing of the registry, the hub or the event queue.

pub mod deflate;
pub mod outbox;
pub mod session;
pub mod writer;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::config::{ServerConfig, LONG_WORK_BYTES};
use crate::conn::deflate::{ConnDeflate, Outgoing};
use crate::conn::outbox::{Item, Outbox, FRAME_COST};
use crate::protocol::failure::Failure;
use crate::protocol::frame::{self, Kind};
pub use crate::protocol::reader::Inbound;

/// A change of a connection's state, for JavaScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
  /// The queue emptied after `send` reported it above the high-water mark.
  Drain,
  /// The frames JavaScript waits for (`Conn::notify_when_sent`) are written.
  Written,
  /// The peer's close frame came after every earlier message; the server answers
  /// `Conn::close_seen` once JavaScript has handled them.
  PeerClose,
  /// The connection failed; the server answers `Conn::error_seen` once JavaScript has handled
  /// every earlier event, and only then does the close frame go.
  Error(&'a Failure),
}

/// The server a connection belongs to.
pub trait Host: Send + Sync {
  /// The limits every connection of this server applies.
  fn config(&self) -> &ServerConfig;
  /// Delivers a payload of `conn` to JavaScript, in order with its other events. `credit` is the
  /// inbound credit it took: the server gives it back (`Conn::return_credit`) once JavaScript
  /// holds the payload.
  fn inbound(&self, conn: &Arc<Conn>, payload: Inbound<'_>, credit: u32);
  /// Delivers `event` of `conn` to JavaScript, in order with its other events.
  fn event(&self, conn: &Conn, event: Event<'_>);
  /// Defers waking `conn`'s writer to the next flush, so frames queued while JavaScript runs
  /// leave in one burst.
  fn cork(&self, conn: &Arc<Conn>);
  /// The connection has ended with `code` and `reason`: forget it, then tell JavaScript.
  fn closed(&self, conn: &Conn, code: u16, reason: &str);
  /// The calling task is about to work long (`config::LONG_WORK_BYTES`): events it leaves for
  /// the end of the worker's pass go to JavaScript now.
  fn hurry(&self) {}
}

/// `readyState` values, as the WebSocket API numbers them.
pub const OPEN: u8 = 1;
pub const CLOSING: u8 = 2;
pub const CLOSED: u8 = 3;

/// What a send did, as JavaScript reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum SendStatus {
  /// Queued; the buffer is below the high-water mark.
  Queued = 0,
  /// Queued; the buffer is above the high-water mark and `drain` will follow.
  AboveHighWater = 1,
  /// Not sent: the connection is closing or closed.
  NotOpen = 2,
}

impl SendStatus {
  /// Every status with its name, for the JavaScript side.
  pub const ALL: [(SendStatus, &'static str); 3] = [
    (SendStatus::Queued, "QUEUED"),
    (SendStatus::AboveHighWater, "ABOVE_HIGH_WATER"),
    (SendStatus::NotOpen, "NOT_OPEN"),
  ];
}

/// A request from JavaScript to the connection's reader task, by rising precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
  /// Start the closing handshake (with this code and reason, or an empty close frame) and wait
  /// for the peer's close frame.
  Close(Option<(u16, String)>),
  /// Send a close frame and end without waiting for the peer.
  Fail(Failure),
  /// Destroy the socket now.
  Terminate,
}

impl Request {
  fn precedence(&self) -> u8 {
    match self {
      Request::Close(..) => 0,
      Request::Fail(_) => 1,
      Request::Terminate => 2,
    }
  }
}

pub struct Conn {
  pub id: u32,
  host: Arc<dyn Host>,
  pub out: Outbox,
  state: AtomicU8,
  request: Mutex<Option<Request>>,
  /// Wakes the read loop: a request, a pause or resume, credit given back after it ran out,
  /// the queue passing `maxBackpressure`. One waiter for all of them keeps the task small.
  pub reader_wake: Notify,
  /// Bytes this connection may still hand to JavaScript before its socket stops being read.
  credit: AtomicUsize,
  /// `send` returned "above high-water"; the writer emits `drain` once the buffer is empty.
  need_drain: AtomicBool,
  /// In the server's cork list: the writer will be woken at the next flush.
  pub corked: AtomicBool,
  /// JavaScript paused reading (`ws.pause()`): the socket is not read until `resume`.
  paused: AtomicBool,
  /// A frame came in since the keepalive sweep's last visit (`server::keepalive`).
  heard: AtomicBool,
  /// When the sweep last found `heard` set, on the sweep's millisecond clock.
  last_heard: AtomicU32,
  /// The read loop has ended: the session is closing the connection its own way.
  ending: AtomicBool,
  /// Topics this connection subscribes to (the hub holds the other direction).
  topics: Mutex<HashSet<Box<str>>>,
  /// permessage-deflate, when agreed in the handshake.
  pub deflate: Option<Box<ConnDeflate>>,
}

impl Conn {
  pub fn new(id: u32, host: Arc<dyn Host>, deflate: Option<ConnDeflate>) -> Self {
    let credit = host.config().max_inbound_pending;
    Conn {
      id,
      host,
      out: Outbox::default(),
      state: AtomicU8::new(OPEN),
      request: Mutex::new(None),
      reader_wake: Notify::new(),
      credit: AtomicUsize::new(credit),
      need_drain: AtomicBool::new(false),
      corked: AtomicBool::new(false),
      paused: AtomicBool::new(false),
      // Heard at the first visit: the silence is counted from then.
      heard: AtomicBool::new(true),
      last_heard: AtomicU32::new(0),
      ending: AtomicBool::new(false),
      topics: Mutex::default(),
      deflate: deflate.map(Box::new),
    }
  }

  /// The server this connection belongs to.
  pub fn host(&self) -> &dyn Host {
    &*self.host
  }

  pub fn config(&self) -> &ServerConfig {
    self.host.config()
  }

  /// Frames one message with this server's fragmentation threshold.
  pub fn encode(&self, kind: Kind, data: &[u8]) -> Bytes {
    frame::encode(kind, data, self.config().fragmentation_threshold)
  }

  pub fn ready_state(&self) -> u8 {
    self.state.load(Ordering::Acquire)
  }

  /// The peer started the closing handshake: no more messages may be queued.
  pub fn set_closing(&self) {
    let _ = self
      .state
      .compare_exchange(OPEN, CLOSING, Ordering::AcqRel, Ordering::Acquire);
  }

  /// JavaScript has handled every event up to a `PeerClose` or `Error` one, and queued what it
  /// sent in answer: sends stop, and the session goes on to its close frame.
  pub fn caught_up(&self) {
    self.set_closing();
    self.reader_wake.notify_one();
  }

  pub fn set_closed(&self) {
    // Under the topics lock, so that a concurrent subscribe either sees CLOSED or is seen by
    // `take_topics` and cleaned up.
    let _topics = self.topics.lock().unwrap();
    self.state.store(CLOSED, Ordering::Release);
  }

  /// Records a subscription; false when already subscribed or when the connection has closed.
  pub fn add_topic(&self, topic: &str) -> bool {
    let mut topics = self.topics.lock().unwrap();
    self.ready_state() != CLOSED && topics.insert(topic.into())
  }

  pub fn remove_topic(&self, topic: &str) -> bool {
    self.topics.lock().unwrap().remove(topic)
  }

  pub fn is_subscribed(&self, topic: &str) -> bool {
    self.topics.lock().unwrap().contains(topic)
  }

  pub fn topics(&self) -> Vec<String> {
    let topics = self.topics.lock().unwrap();
    topics.iter().map(|t| t.to_string()).collect()
  }

  /// Takes every subscription, once the connection is closed.
  pub fn take_topics(&self) -> Vec<Box<str>> {
    self.topics.lock().unwrap().drain().collect()
  }

  /// Queues an encoded frame. A frame is never refused for its size or for the bytes ahead of
  /// it (a burst is not slowness); what bounds a peer that does not read is the reader's stall
  /// clock (see `session.rs`), which this starts when the queue passes `maxBackpressure`.
  pub fn push_frame(&self, frame: Bytes) -> SendStatus {
    self.push(Item::Frame(frame))
  }

  /// Queues a message that may be compressed: compressed by the writer when the connection
  /// agreed permessage-deflate, `compress` allows it and it reaches the threshold; else as
  /// the message's plain frame.
  pub fn push_outgoing(&self, message: &Arc<Outgoing>, compress: bool) -> SendStatus {
    if self.compresses(message.payload.len(), compress) {
      self.push(Item::Compress(message.clone()))
    } else {
      self.push_frame(message.plain(self.config().fragmentation_threshold))
    }
  }

  /// Whether a data message of `len` bytes goes compressed (`compress`: the sender allows it).
  pub fn compresses(&self, len: usize, compress: bool) -> bool {
    compress && self.deflate.as_ref().is_some_and(|d| d.wants(len))
  }

  /// The frame of a message the writer compresses; a large one is long work (`hurry`).
  pub fn compress(&self, message: &Outgoing) -> Bytes {
    let deflate = self.deflate.as_ref().expect("queued only when agreed");
    if message.payload.len() >= LONG_WORK_BYTES && !deflate.framed(message) {
      self.host().hurry();
    }
    deflate.frame(message, self.config().fragmentation_threshold)
  }

  fn push(&self, item: Item) -> SendStatus {
    if self.ready_state() != OPEN {
      return SendStatus::NotOpen;
    }
    let limits = self.config();
    let len = item.size();
    let Some(buffered) = self.out.push_item(item) else {
      return SendStatus::NotOpen;
    };
    let weight = self.out.weight();
    let bound = limits.max_backpressure;
    if weight > bound && weight.saturating_sub(len + FRAME_COST) <= bound {
      // The reader stops reading this peer and starts the stall clock.
      self.reader_wake.notify_one();
    }
    if buffered <= limits.high_water_mark {
      return SendStatus::Queued;
    }
    let before = buffered - len;
    if before <= limits.high_water_mark {
      // Passed the mark inside a JavaScript job: the writer starts now, on its own thread,
      // rather than at the job's end, so a long loop of sends drains as it goes.
      self.out.wake();
    }
    // The writer task may have emptied the queue since the push (woken by another thread's
    // frame) and found no drain to emit: check once more.
    self.notify_when_written();
    SendStatus::AboveHighWater
  }

  /// True while the queue is past `maxBackpressure`: the peer is not read meanwhile.
  pub fn is_backed_up(&self) -> bool {
    self.out.weight() > self.config().max_backpressure
  }

  /// Encodes and queues one message; a data message goes compressed when `compresses` says so.
  pub fn send(&self, kind: Kind, payload: &[u8], compress: bool) -> SendStatus {
    if self.ready_state() != OPEN {
      return SendStatus::NotOpen;
    }
    if matches!(kind, Kind::Text | Kind::Binary) && self.compresses(payload.len(), compress) {
      let message = Outgoing::new(kind, Bytes::copy_from_slice(payload));
      return self.push(Item::Compress(Arc::new(message)));
    }
    self.push_frame(self.encode(kind, payload))
  }

  /// Writes what is queued: from the calling thread when the socket takes it all now, else by
  /// waking the writer task.
  pub fn flush(&self) {
    match self.out.write_now() {
      Some(still_buffered) => self.after_write(still_buffered),
      None => {
        // Part may have been written before the socket filled up.
        self.shrunk();
        self.out.wake();
      }
    }
  }

  /// The queue got smaller (a write, or a message compressed): wakes a read loop stopped by
  /// backpressure once it is back within `maxBackpressure`.
  pub fn shrunk(&self) {
    if self.out.is_watched() && !self.is_backed_up() {
      self.reader_wake.notify_one();
    }
  }

  /// Called after every write to the socket: `shrunk`, `drain` when the buffer emptied after
  /// `send` reported it above the high-water mark, and `written` when the frames JavaScript
  /// waits for are out.
  pub fn after_write(&self, still_buffered: usize) {
    self.shrunk();
    if still_buffered == 0 && self.need_drain.swap(false, Ordering::AcqRel) {
      self.host.event(self, Event::Drain);
    }
    self.check_sent();
  }

  /// Asks for a `written` event once the outbox's `sent` count reaches `target` (a `queued`
  /// count): at once if it has.
  pub fn notify_when_sent(&self, target: u32) {
    self.out.await_sent(target);
    self.check_sent();
  }

  fn check_sent(&self) {
    if self.out.take_sent() {
      self.host.event(self, Event::Written);
    }
  }

  /// Asks for a `drain` event once everything queued so far is written (at once if nothing is).
  pub fn notify_when_written(&self) {
    self.need_drain.store(true, Ordering::Release);
    if self.out.buffered() == 0 {
      self.after_write(0);
    }
  }

  /// Starts the closing handshake with a validated code (none: an empty close frame); a no-op
  /// unless open.
  pub fn close(&self, status: Option<(u16, String)>) {
    if self
      .state
      .compare_exchange(OPEN, CLOSING, Ordering::AcqRel, Ordering::Acquire)
      .is_ok()
    {
      self.request(Request::Close(status));
    }
  }

  /// Pauses or resumes reading. Either way the reader is woken: a reader already waiting on the
  /// socket must re-check before it reads (and delivers) one more message.
  pub fn set_paused(&self, paused: bool) {
    self.paused.store(paused, Ordering::Release);
    self.reader_wake.notify_one();
  }

  pub fn is_paused(&self) -> bool {
    self.paused.load(Ordering::Acquire)
  }

  /// Whether the read loop reads the socket now: not paused, with inbound credit, not backed
  /// up.
  pub fn reads(&self) -> bool {
    !self.is_paused() && self.has_credit() && !self.is_backed_up()
  }

  /// Fails the connection: it stops accepting messages at once and sends `failure`'s close code.
  pub fn fail(&self, failure: Failure) {
    if self.ready_state() != CLOSED {
      self.state.store(CLOSING, Ordering::Release);
      self.request(Request::Fail(failure));
    }
  }

  /// Destroys the socket now; also while the connection is ending (closed, JavaScript not yet
  /// told), where it cuts the waits for the writer and for the peer's end, as `ws`'s
  /// `terminate` destroys its socket in any state.
  pub fn terminate(&self) {
    let _ = self
      .state
      .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
        (state != CLOSED).then_some(CLOSING)
      });
    self.request(Request::Terminate);
  }

  /// Records a request unless one of higher precedence is pending, and wakes the reader.
  pub fn request(&self, request: Request) {
    let mut slot = self.request.lock().unwrap();
    if slot
      .as_ref()
      .is_none_or(|r| r.precedence() < request.precedence())
    {
      *slot = Some(request);
    }
    drop(slot);
    self.reader_wake.notify_one();
  }

  pub fn take_request(&self) -> Option<Request> {
    self.request.lock().unwrap().take()
  }

  /// Takes up to `n` bytes of inbound credit (all that is left if less); returns what it took.
  pub fn take_credit(&self, n: usize) -> u32 {
    let before = self
      .credit
      .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
        Some(c.saturating_sub(n))
      })
      .expect("the update always succeeds");
    before.min(n) as u32
  }

  /// Gives back credit JavaScript no longer holds; the reader, stopped when it ran out, reads on.
  pub fn return_credit(&self, n: u32) {
    if self.credit.fetch_add(n as usize, Ordering::AcqRel) == 0 {
      self.reader_wake.notify_one();
    }
  }

  pub fn has_credit(&self) -> bool {
    self.credit.load(Ordering::Acquire) > 0
  }

  /// The read loop has ended; keepalive leaves the connection to the session's ending.
  pub fn set_ending(&self) {
    self.ending.store(true, Ordering::Release);
  }

  pub fn is_ending(&self) -> bool {
    self.ending.load(Ordering::Acquire)
  }

  /// A frame came in: the peer is alive.
  pub fn heard(&self) {
    self.heard.store(true, Ordering::Relaxed);
  }

  /// The keepalive sweep's visit at `now` (milliseconds on its clock, which may wrap): how long
  /// the peer has been silent, counted from the last visit that found a frame had come in.
  pub fn silent_for(&self, now: u32) -> u32 {
    if self.heard.swap(false, Ordering::Relaxed) {
      self.last_heard.store(now, Ordering::Relaxed);
      0
    } else {
      now.wrapping_sub(self.last_heard.load(Ordering::Relaxed))
    }
  }
}
