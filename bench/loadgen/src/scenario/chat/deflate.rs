//! chat --deflate: the chat room with permessage-deflate. Publishers send compressed frames built
//! before the run (crate::deflate), each starting at its own place in the cycle of variants so
//! that a client does not get the same payload from several publishers in a row. Every client
//! counts what it receives without inflating it, so messages carry no header: this variant
//! reports deliveries and the server's CPU, not latency, and runs one room.
//!
//! Flow control without headers to tell whose message arrived: the publishers share a credit of
//! `inflight` messages each. Sending a message takes one; every `fanout` deliveries, whoever's,
//! give one back. So, as in the plain chat, no more than publishers × inflight messages are ever
//! on their way, and servers that buffer and servers that push back are measured alike.
//!
//! The end: after the drain, the first publisher sends a message of the other type (binary in a
//! text run), which each client takes for STOP: it comes after all the messages still counted.
//!
//! Each connection is split into a reading and a writing task, so pings go unanswered: no server
//! in the suite pings within a run (ferrows's native face pings after 30 s, uWS near its 120 s
//! idle timeout, ws and ferrows-ws never).

use super::{Config, DRAIN};
use crate::conn::Error;
use crate::json::JsonLine;
use crate::raw::{client_frame, Frame, RawWs, Reader, BINARY, TEXT};
use crate::scenario::open_many;
use crate::window::{Sampler, Window};
use crate::Common;
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Semaphore;

/// What every client task shares.
struct Room {
  /// Clients that receive each message: everyone.
  fanout: u64,
  /// Messages read by any client.
  delivered: AtomicU64,
  /// Messages the publishers may still send before more are delivered.
  credit: Semaphore,
}

#[derive(Default)]
struct Received {
  in_window: u64,
  /// Messages the server sent without compressing them.
  uncompressed: u64,
}

/// Counts one client's messages until STOP or the end of the connection.
async fn receive(
  mut reader: Reader<OwnedReadHalf>,
  room: Arc<Room>,
  binary: bool,
  window: Window,
) -> Received {
  let mut got = Received::default();
  loop {
    match reader.frame().await {
      Ok(Frame::Data(data)) if data.binary != binary => break,
      Ok(Frame::Data(data)) => {
        got.uncompressed += u64::from(!data.compressed);
        if window.contains(Instant::now()) {
          got.in_window += 1;
        }
        if (room.delivered.fetch_add(1, Relaxed) + 1).is_multiple_of(room.fanout) {
          room.credit.add_permits(1);
        }
      }
      Ok(Frame::Ping(_)) => {}
      Ok(Frame::Close) | Err(_) => break,
    }
  }
  got
}

/// Sends the frames in turn from `first`, one credit each, until the window ends. Returns how
/// many it sent, and its writer for STOP.
async fn publish(
  mut writer: OwnedWriteHalf,
  frames: Arc<[Bytes]>,
  first: usize,
  room: Arc<Room>,
  window: Window,
) -> (u64, OwnedWriteHalf) {
  let mut sent = 0u64;
  let mut turn = first;
  while Instant::now() < window.end {
    match tokio::time::timeout_at(window.end.into(), room.credit.acquire()).await {
      Ok(Ok(permit)) => permit.forget(),
      _ => break,
    }
    if writer
      .write_all(&frames[turn % frames.len()])
      .await
      .is_err()
    {
      break;
    }
    turn += 1;
    sent += 1;
  }
  (sent, writer)
}

pub async fn run(cfg: Config, common: &Common) -> Result<JsonLine, Error> {
  let clients = open_many(&common.target, cfg.clients(), 64, RawWs::connect).await?;
  let negotiated = clients
    .first()
    .map(|ws| ws.negotiated.clone())
    .unwrap_or_default();
  let room = Arc::new(Room {
    fanout: cfg.clients() as u64,
    delivered: AtomicU64::new(0),
    credit: Semaphore::new(cfg.publishers * cfg.inflight as usize),
  });
  let window = Window::after(common.warmup, common.duration);
  let sampler = Sampler::start(window, &common.server_pids);
  let frames: Arc<[Bytes]> = crate::deflate::messages(cfg.size, cfg.binary).into();

  let mut readers = Vec::with_capacity(clients.len());
  let mut publishers = Vec::with_capacity(cfg.publishers);
  // The receivers' writers, held until the end: dropping one half-closes its connection.
  let mut idle_writers = Vec::with_capacity(cfg.receivers);
  for (i, ws) in clients.into_iter().enumerate() {
    let (reader, writer) = ws.into_split();
    readers.push(tokio::spawn(receive(
      reader,
      room.clone(),
      cfg.binary,
      window,
    )));
    if i < cfg.publishers {
      let first = i * frames.len() / cfg.publishers;
      let publish = publish(writer, frames.clone(), first, room.clone(), window);
      publishers.push(tokio::spawn(publish));
    } else {
      idle_writers.push(writer);
    }
  }

  let mut published = 0;
  let mut writers = Vec::with_capacity(cfg.publishers);
  for task in publishers {
    let (count, writer) = task.await?;
    published += count;
    writers.push(writer);
  }
  let expected = published * room.fanout;
  let drain_end = Instant::now() + DRAIN;
  while room.delivered.load(Relaxed) < expected && Instant::now() < drain_end {
    tokio::time::sleep(Duration::from_millis(5)).await;
  }
  let delivered = room.delivered.load(Relaxed);
  let usage = sampler.finish();

  let stop = client_frame(if cfg.binary { TEXT } else { BINARY }, false, b"STOP");
  let _ = writers[0].write_all(&stop).await;
  let mut got = Received::default();
  let mut stalled = 0u64;
  for task in readers {
    match tokio::time::timeout(Duration::from_secs(2), task).await {
      Ok(Ok(one)) => {
        got.in_window += one.in_window;
        got.uncompressed += one.uncompressed;
      }
      _ => stalled += 1,
    }
  }
  drop(idle_writers);

  let json = JsonLine::new()
    .str("scenario", "chat")
    .int("receivers", cfg.receivers as u64)
    .int("publishers", cfg.publishers as u64)
    .int("rooms", 1)
    .int("inflight", cfg.inflight)
    .int("size", cfg.size as u64)
    .str("type", if cfg.binary { "binary" } else { "text" })
    .num("secs", window.secs(), 2)
    .int("published", published)
    .int("deliveries", got.in_window)
    .num("rate", got.in_window as f64 / window.secs(), 0)
    .int("expected", expected)
    .int("lost", expected.saturating_sub(delivered))
    .int("stalled", stalled)
    .bool("deflate", true)
    .str("negotiated", &negotiated)
    .int("uncompressed", got.uncompressed);
  Ok(usage.write(json, got.in_window))
}
