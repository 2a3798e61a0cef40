//! A connection's life after the handshake: the read loop (messages, pings, keepalive, requests
//! from JavaScript, the closing handshake) and the ending (close frame, writer drain, `close`).

use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::time::{interval_at, sleep, Instant, Interval, MissedTickBehavior, Sleep};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Message, Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::conn::transport::Transport;
use crate::conn::writer::{self, WriteSide};
use crate::conn::{Conn, Event, Inbound, Request, OPEN};
use crate::io::handoff::Adopted;
use crate::protocol::failure::{classify, Failure, ReadEnd};
use crate::protocol::frame::{self, Kind};

/// tungstenite's read chunk, which it keeps allocated for the connection's whole life (its
/// default is 128 KiB). Socket reads are larger: the transport reads ahead (`ReadAhead`).
const READ_BUFFER: usize = 512;

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

fn config(conn: &Conn) -> WebSocketConfig {
  let limits = conn.config();
  WebSocketConfig::default()
    .read_buffer_size(READ_BUFFER)
    .write_buffer_size(0)
    .max_message_size(Some(limits.max_payload))
    .max_frame_size(Some(limits.max_frame))
}

async fn read_loop<R: AsyncRead + Unpin>(
  conn: &Arc<Conn>,
  ws: &mut WebSocketStream<Transport<R>>,
) -> End {
  let limits = conn.config();
  let host = conn.host();
  let mut keepalive = Keepalive::new(limits.ping_interval, limits.idle_timeout);
  let mut closing_deadline: Option<Pin<Box<Sleep>>> = None;
  let mut stall = Stall::new(limits.send_timeout);
  let mut peer_close: Option<(u16, String)> = None;
  // One waiter registration for as long as no request comes: a fresh `notified()` per loop
  // would take the Notify's lock twice for every message.
  let mut request = pin!(conn.request_wake.notified());
  loop {
    let has_credit = conn.has_credit();
    let backed_up = stall.update(conn);
    // Until JavaScript has seen the peer's close, tungstenite must not be polled: its next read
    // sends the close reply, which must follow whatever JavaScript sends in answer to the
    // messages before it.
    let reply_held = peer_close.is_some() && conn.ready_state() == OPEN;
    let readable = has_credit && !conn.is_paused() && !backed_up && !reply_held;
    tokio::select! {
      biased;
      _ = &mut request => {
        request.set(conn.request_wake.notified());
        match conn.take_request() {
        Some(Request::Terminate) => return End::Abnormal,
        Some(Request::Fail(failure)) => return End::Failed(failure),
        Some(Request::Close(status)) => {
          let frame = status.map(|(code, reason)| CloseFrame { code: code.into(), reason: reason.into() });
          if ws.close(frame).await.is_err() {
            return End::Abnormal;
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
      item = ws.next(), if readable => {
        keepalive.heard = true;
        match item {
          Some(Ok(Message::Close(frame))) => {
            peer_close = Some(match frame {
              Some(f) => (f.code.into(), f.reason.to_string()),
              None => (1005, String::new()),
            });
            if conn.ready_state() == OPEN {
              // The peer started the closing handshake: JavaScript answers `caughtUp()`
              // once the messages before it are handled.
              host.event(conn, Event::PeerClose);
              closing_deadline.get_or_insert_with(|| Box::pin(sleep(limits.close_timeout)));
            }
          }
          Some(Ok(Message::Frame(_))) => {}
          Some(Ok(message)) => deliver(conn, &message),
          Some(Err(err)) => match classify(&err) {
            ReadEnd::Fail(failure) => return End::Broken(failure),
            ReadEnd::Lost => {
              return peer_close.map_or(End::Abnormal, |(c, r)| End::Closed(c, r))
            }
          },
          None => return peer_close.map_or(End::Abnormal, |(c, r)| End::Closed(c, r)),
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
fn deliver(conn: &Arc<Conn>, message: &Message) {
  let payload = match message {
    Message::Text(text) => Inbound::Text(text),
    Message::Binary(data) => Inbound::Binary(data),
    Message::Ping(data) => Inbound::Ping(data),
    Message::Pong(data) => Inbound::Pong(data),
    Message::Close(_) | Message::Frame(_) => return,
  };
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

/// Starts the tasks of a connection over an adopted socket (see `run`).
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
pub async fn run<R, W>(conn: Arc<Conn>, read: R, write: WriteSide<W>, head: Vec<u8>)
where
  R: AsyncRead + Unpin + Send + 'static,
  W: AsyncWrite + Unpin + Send + 'static,
{
  let mut writer = tokio::spawn(writer::run(write));
  let transport = Transport::new(read, conn.clone());
  let mut ws =
    WebSocketStream::from_partially_read(transport, head, Role::Server, Some(config(&conn))).await;
  let end = read_loop(&conn, &mut ws).await;

  let host = conn.host();
  let limit = conn.config().close_timeout;
  let (code, reason) = match end {
    End::Closed(code, reason) => {
      conn.out.finish();
      (code, reason)
    }
    End::Broken(failure) => {
      host.event(&conn, Event::Error(&failure));
      if wait_caught_up(&conn).await {
        writer.abort();
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
      writer.abort();
      (1006, String::new())
    }
  };
  conn.set_closed();
  // A peer that stopped reading cannot hold the socket open past the close timeout.
  let written = matches!(tokio::time::timeout(limit, &mut writer).await, Ok(Ok(())));
  if !written {
    writer.abort();
  } else if code != 1006 {
    // Our close frame and FIN are out. Closing with the peer's bytes unread would make the
    // kernel answer with a reset, which can destroy that close frame before the peer reads it:
    // read (and discard) until the peer closes too.
    drain(ws.get_mut().reader(), limit).await;
  }
  drop(ws);
  host.closed(&conn, code, &reason);
}

/// Reads and discards until EOF, an error or `limit`.
async fn drain<R: AsyncRead + Unpin>(read: &mut R, limit: Duration) {
  let mut scratch = vec![0; 4096];
  let _ = tokio::time::timeout(limit, async {
    while let Ok(1..) = read.read(&mut scratch).await {}
  })
  .await;
}
