//! A connection's life after the handshake: the read loop (messages, pings, keepalive, requests
//! from JavaScript, the closing handshake) and the ending (close frame, writer drain, `close`).

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::time::{interval_at, sleep, Instant, Interval, MissedTickBehavior, Sleep};

use crate::conn::writer::{self, WriteSide};
use crate::conn::{Conn, Event, Inbound, Request, OPEN};
use crate::io::handoff::Adopted;
use crate::io::read::read_into;
use crate::protocol::failure::Failure;
use crate::protocol::frame::{self, Kind};
use crate::protocol::reader::{Incoming, Reader};

/// How the read loop ended.
enum End {
  /// The closing handshake completed (either side started it); the peer's code and reason.
  Closed(u16, String),
  /// The peer broke the protocol or a limit. JavaScript is told first, so that what it sends
  /// in answer to the messages before the error still precedes the close frame.
  Broken(Failure),
  /// The application or a limit failed the connection: send this close frame and stop.
  Failed(Failure),
  /// The socket is gone, timed out or was terminated: 1006, nothing more is sent.
  Abnormal,
}

/// Server pings and the idle cut-off. One timer per connection; idleness is checked at each tick.
struct Keepalive {
  ticker: Option<Interval>,
  ping: bool,
  idle: Duration,
  heard: bool,
  last_heard: Instant,
}

impl Keepalive {
  fn new(ping: Duration, idle: Duration) -> Self {
    let period = if ping.is_zero() { idle } else { ping };
    let ticker = (!period.is_zero()).then(|| {
      let mut t = interval_at(Instant::now() + period, period);
      t.set_missed_tick_behavior(MissedTickBehavior::Delay);
      t
    });
    Keepalive {
      ticker,
      ping: !ping.is_zero(),
      idle,
      heard: false,
      last_heard: Instant::now(),
    }
  }

  async fn tick(&mut self) {
    match self.ticker.as_mut() {
      Some(t) => {
        t.tick().await;
      }
      None => std::future::pending().await,
    }
  }

  /// At a tick: true when the peer has been silent past the idle timeout.
  fn is_idle(&mut self) -> bool {
    let now = Instant::now();
    if std::mem::take(&mut self.heard) {
      self.last_heard = now;
    }
    !self.idle.is_zero() && now.duration_since(self.last_heard) >= self.idle
  }
}

/// Why reading stopped before a frame was complete.
enum ReadError {
  /// EOF or a socket error: no close frame can be sent.
  Lost,
  /// The peer broke the protocol or a limit.
  Failed(Failure),
}

/// Reads until `reader` holds a message, a ping, a pong or a close frame. Cancel-safe: bytes
/// read are in the reader's input whenever this is dropped.
async fn fill<R: AsyncRead + Unpin>(reader: &mut Reader, io: &mut R) -> Result<(), ReadError> {
  loop {
    if reader.step().map_err(ReadError::Failed)? {
      return Ok(());
    }
    match read_into(io, reader.input()).await {
      Ok(1..) => {}
      Ok(0) | Err(_) => return Err(ReadError::Lost),
    }
  }
}

/// The close frame that answers the peer's: its code and reason echoed (RFC 6455 §5.5.1),
/// empty when it had no code.
fn close_reply(code: u16, reason: &str) -> bytes::Bytes {
  if code == 1005 {
    frame::encode(Kind::Close, b"", 0)
  } else {
    frame::close(code, reason)
  }
}

async fn read_loop<R: AsyncRead + Unpin>(conn: &Arc<Conn>, reader: &mut Reader, io: &mut R) -> End {
  let limits = conn.config();
  let host = conn.host();
  let mut keepalive = Keepalive::new(limits.ping_interval, limits.idle_timeout);
  let mut closing_deadline: Option<Pin<Box<Sleep>>> = None;
  let mut stall = Stall::new(limits.send_timeout);
  let mut peer_close: Option<(u16, String)> = None;
  let mut close_sent = false;
  // One waiter registration for as long as no request comes: a fresh `notified()` per loop
  // would take the Notify's lock twice for every message.
  let mut request = pin!(conn.request_wake.notified());
  loop {
    if let Some((code, reason)) = peer_close.take_if(|_| conn.ready_state() != OPEN) {
      // JavaScript has handled everything before the peer's close frame (or the server is
      // closing anyway): answer it, unless our own close frame went first, and end.
      if !close_sent {
        let _ = conn.out.push(close_reply(code, &reason));
      }
      return End::Closed(code, reason);
    }
    let has_credit = conn.has_credit();
    let backed_up = stall.update(conn);
    // Until JavaScript has seen the peer's close, nothing more is read, and the close reply
    // waits: it must follow whatever JavaScript sends in answer to the messages before it.
    let readable = has_credit && !conn.is_paused() && !backed_up && peer_close.is_none();
    tokio::select! {
      biased;
      _ = &mut request => {
        request.set(conn.request_wake.notified());
        match conn.take_request() {
        Some(Request::Terminate) => return End::Abnormal,
        Some(Request::Fail(failure)) => return End::Failed(failure),
        Some(Request::Close(status)) => {
          let frame = match status {
            Some((code, reason)) => frame::close(code, &reason),
            None => frame::encode(Kind::Close, b"", 0),
          };
          if !close_sent && conn.out.push(frame).is_some() {
            conn.out.wake();
            close_sent = true;
          }
          closing_deadline.get_or_insert_with(|| Box::pin(sleep(limits.close_timeout)));
        }
        None => {}
      }},
      // Waiting for a permit (and giving it straight back) parks the loop until JavaScript
      // has taken some of this connection's pending payloads: the socket is not read meanwhile.
      permit = conn.credit.acquire(), if !has_credit => drop(permit),
      _ = conn.out.progressed(), if backed_up => stall.progressed(),
      _ = stall.expired(), if backed_up => return End::Failed(Failure::backpressure()),
      read = fill(reader, io), if readable => {
        keepalive.heard = true;
        match read {
          Err(ReadError::Failed(failure)) => return End::Broken(failure),
          Err(ReadError::Lost) => return End::Abnormal,
          Ok(()) => match reader.incoming() {
            Incoming::Close(code, reason) => {
              if close_sent {
                return End::Closed(code, reason.to_string());
              }
              peer_close = Some((code, reason.to_string()));
              if conn.ready_state() == OPEN {
                // The peer started the closing handshake: JavaScript answers `caughtUp()`
                // once the messages before it are handled.
                host.event(conn, Event::PeerClose);
                closing_deadline.get_or_insert_with(|| Box::pin(sleep(limits.close_timeout)));
              }
            }
            Incoming::Message(message) => {
              if let Inbound::Ping(data) = message {
                if limits.auto_pong && conn.ready_state() == OPEN {
                  let _ = conn.out.push(frame::encode(Kind::Pong, data, 0));
                  conn.out.wake();
                }
              }
              deliver(conn, message);
            }
          },
        }
      },
      _ = keepalive.tick() => {
        if keepalive.is_idle() {
          return End::Abnormal;
        }
        if keepalive.ping {
          let _ = conn.out.push(frame::encode(Kind::Ping, b"", 0));
          conn.out.wake();
        }
      },
      _ = async { closing_deadline.as_mut().expect("guarded").await }, if closing_deadline.is_some() => {
        return End::Abnormal;
      }
    }
  }
}

/// Hands a message, ping or pong to JavaScript with the inbound credit its payload takes.
fn deliver(conn: &Arc<Conn>, payload: Inbound<'_>) {
  let credit = conn.take_credit(payload.size());
  conn.host().inbound(conn, payload, credit);
}

/// The clock of a backed-up connection: while its queue is past `maxBackpressure` the peer is
/// not read, and a socket that takes no byte for `sendTimeout` ends the connection.
struct Stall {
  timeout: Duration,
  deadline: Option<Pin<Box<Sleep>>>,
}

impl Stall {
  fn new(timeout: Duration) -> Self {
    Stall {
      timeout,
      deadline: None,
    }
  }

  /// Starts or stops the clock as the queue is past the bound or not; true while it is.
  fn update(&mut self, conn: &Conn) -> bool {
    let backed_up = conn.is_backed_up();
    if backed_up != self.deadline.is_some() {
      conn.out.watch(backed_up);
      self.deadline = backed_up.then(|| Box::pin(sleep(self.timeout)));
    }
    backed_up
  }

  /// The socket took bytes: the peer reads, however slowly, so the clock starts over.
  fn progressed(&mut self) {
    if let Some(deadline) = self.deadline.as_mut() {
      deadline.as_mut().reset(Instant::now() + self.timeout);
    }
  }

  async fn expired(&mut self) {
    self.deadline.as_mut().expect("guarded").await
  }
}

/// Waits (at most the close timeout) until JavaScript has caught up with the connection's events
/// (`Conn::caught_up`, its answer to an `error` event), so that what it sent in answer to the
/// messages before the failure precedes the close frame. True when it asked for termination
/// instead.
async fn wait_caught_up(conn: &Conn) -> bool {
  let wait = async {
    loop {
      if matches!(conn.take_request(), Some(Request::Terminate)) {
        return true;
      }
      if conn.ready_state() != OPEN {
        return false;
      }
      conn.request_wake.notified().await;
    }
  };
  tokio::time::timeout(conn.config().close_timeout, wait)
    .await
    .unwrap_or(false)
}

/// Queues a close frame and lets the writer finish.
fn send_close(conn: &Conn, code: u16, reason: &str) {
  let _ = conn.out.push(frame::close(code, reason));
  conn.out.finish();
}

/// Starts the task of a connection over an adopted socket (see `run`).
pub fn start(conn: Arc<Conn>, socket: Adopted, head: Vec<u8>) {
  use std::os::fd::AsRawFd;
  match socket {
    Adopted::Tcp(stream) => {
      let fd = stream.as_raw_fd();
      let (read, write) = stream.into_split();
      tokio::spawn(run(
        conn.clone(),
        read,
        WriteSide::new(conn, write, Some(fd)),
        head,
      ));
    }
    Adopted::Unix(stream) => {
      let fd = stream.as_raw_fd();
      let (read, write) = stream.into_split();
      tokio::spawn(run(
        conn.clone(),
        read,
        WriteSide::new(conn, write, Some(fd)),
        head,
      ));
    }
  }
}

/// Runs a connection whose `101` is already queued in its outbox, until it has closed and
/// JavaScript has been told.
pub async fn run<R, W>(conn: Arc<Conn>, mut read: R, write: WriteSide<W>, head: Vec<u8>)
where
  R: AsyncRead + Unpin + Send + 'static,
  W: AsyncWrite + Unpin + Send + 'static,
{
  // The writer runs in this task, beside whatever the session awaits: one task per connection.
  let mut writer = pin!(Some(writer::run(write)));
  let limits = conn.config();
  let inflation = conn.deflate.as_ref().map(|d| d.inflation());
  let mut reader = Reader::new(head, limits.max_frame, limits.max_payload, inflation);
  let end = beside(
    writer.as_mut(),
    pin!(read_loop(&conn, &mut reader, &mut read)),
  )
  .await;
  drop(reader);

  let host = conn.host();
  let limit = limits.close_timeout;
  let (code, reason) = match end {
    End::Closed(code, reason) => {
      conn.out.finish();
      (code, reason)
    }
    End::Broken(failure) => {
      host.event(&conn, Event::Error(&failure));
      if beside(writer.as_mut(), pin!(wait_caught_up(&conn))).await {
        writer.set(None);
        (1006, String::new())
      } else {
        // The close frame carries the code only, as `ws` sends it; the `close` event keeps the
        // engine's description.
        send_close(&conn, failure.close_code, "");
        (failure.close_code, failure.message)
      }
    }
    End::Failed(failure) => {
      // The queue is moot (for backpressure, the reason itself): only the close frame goes.
      conn.out.clear();
      send_close(&conn, failure.close_code, &failure.message);
      // An application's `drop` is no error; a limit the engine enforced is.
      if failure.code.is_some() {
        host.event(&conn, Event::Error(&failure));
      }
      (failure.close_code, failure.message)
    }
    End::Abnormal => {
      writer.set(None);
      (1006, String::new())
    }
  };
  conn.set_closed();
  // A peer that stopped reading cannot hold the socket open past the close timeout. A writer
  // that already ended did so on a write error: nothing more reached the peer.
  let written = match writer.as_mut().as_pin_mut() {
    Some(w) => tokio::time::timeout(limit, w).await.is_ok(),
    None => false,
  };
  writer.set(None);
  if written && code != 1006 {
    // Our close frame and FIN are out. Closing with the peer's bytes unread would make the
    // kernel answer with a reset, which can destroy that close frame before the peer reads it:
    // read (and discard) until the peer closes too.
    drain(&mut read, limit).await;
  }
  drop(read);
  host.closed(&conn, code, &reason);
}

/// Awaits `work` while the connection's writer (`writer::run`, polled by this same task) keeps
/// writing; a writer that ends (a write error, which also asks the session to terminate) is
/// dropped, and with it the socket's write side.
async fn beside<T>(
  mut writer: Pin<&mut Option<impl Future<Output = ()>>>,
  mut work: Pin<&mut impl Future<Output = T>>,
) -> T {
  loop {
    let running = writer.is_some();
    tokio::select! {
      out = work.as_mut() => return out,
      () = async { writer.as_mut().as_pin_mut().expect("guarded").await }, if running => writer.set(None),
    }
  }
}

/// Reads and discards until EOF, an error or `limit`.
async fn drain<R: AsyncRead + Unpin>(read: &mut R, limit: Duration) {
  let mut scratch = vec![0; 4096];
  let _ = tokio::time::timeout(limit, async {
    while let Ok(1..) = read.read(&mut scratch).await {}
  })
  .await;
}
#[cfg(test)]
mod tests {
  use super::*;
  use crate::config::ServerConfig;
  use crate::server::events::EventQueue;
  use crate::server::Shared;

  /// What every connection, idle or not, holds natively: these budgets fail the build's tests
  /// when a per-connection structure grows (bench/ measures the total per idle connection).
  #[tokio::test]
  async fn per_connection_structures_stay_within_their_budgets() {
    let server = Arc::new(Shared::new(
      ServerConfig::default(),
      Arc::new(EventQueue::default()),
    ));
    let conn = server.open(Vec::new(), None);
    let (a, _b) = tokio::net::UnixStream::pair().unwrap();
    let (read, write) = a.into_split();
    let task = run(
      conn.clone(),
      read,
      WriteSide::new(conn.clone(), write, None),
      Vec::new(),
    );
    let sizes = [
      ("Conn", std::mem::size_of::<Conn>(), 352),
      ("Reader", std::mem::size_of::<Reader>(), 160),
      (
        "the connection's task, its writer included",
        std::mem::size_of_val(&task),
        1344,
      ),
    ];
    for (what, size, budget) in sizes {
      assert!(size <= budget, "{what}: {size} bytes, budget {budget}");
    }
  }
}
