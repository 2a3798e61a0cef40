//! The pure-Rust reference server of the bench: tokio on one thread, no JavaScript, following the
//! contract of bench/servers/contract.js (env PORT, MODE=echo|broadcast|rooms, DEFLATE; 127.0.0.1
//! only; `ready` on stdout once listening). It is the floor a Node addon can approach, not a
//! product: tokio-tungstenite answers the handshake, then each message is framed once and the
//! same bytes are queued on every receiver, and a connection's writer sends everything queued
//! for it in one vectored write, as uWebSockets.js and ferrows do. Its frame reader handles what
//! the loadgen sends (whole messages, pings, close), not fragments.

use bytes::{Buf, Bytes, BytesMut};
use std::collections::HashMap;
use std::io::{IoSlice, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
  Echo,
  Broadcast,
  Rooms,
}

/// Every open connection: its room (the request path) and its writer's queue of frames.
type Registry = Mutex<HashMap<u64, (String, UnboundedSender<Bytes>)>>;

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

fn main() {
  let port: u16 = match std::env::var("PORT").ok().and_then(|p| p.parse().ok()) {
    Some(port) if port > 0 => port,
    _ => {
      eprintln!("PORT must be a TCP port");
      std::process::exit(2);
    }
  };
  let mode = match std::env::var("MODE").as_deref() {
    Ok("echo") | Err(_) => Mode::Echo,
    Ok("broadcast") => Mode::Broadcast,
    Ok("rooms") => Mode::Rooms,
    Ok(other) => {
      eprintln!("MODE must be echo, broadcast or rooms, got {other:?}");
      std::process::exit(2);
    }
  };
  if std::env::var("DEFLATE").as_deref() == Ok("1") {
    println!("unavailable: the pure-Rust server has no permessage-deflate");
    std::process::exit(3);
  }
  // One thread, as uWebSockets.js and Node's JavaScript thread: the floor per core.
  let runtime = tokio::runtime::Builder::new_current_thread()
    .enable_all()
    .build()
    .expect("a tokio runtime");
  runtime.block_on(serve(port, mode));
}

async fn serve(port: u16, mode: Mode) {
  let listener = TcpListener::bind(("127.0.0.1", port))
    .await
    .unwrap_or_else(|err| {
      eprintln!("cannot listen on 127.0.0.1:{port}: {err}");
      std::process::exit(1);
    });
  println!("ready");
  std::io::stdout().flush().expect("stdout");
  let registry = Arc::new(Registry::default());
  let ids = AtomicU64::new(0);
  loop {
    let Ok((stream, _)) = listener.accept().await else {
      continue;
    };
    let id = ids.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(connection(stream, id, mode, registry.clone()));
  }
}

/// An unmasked server frame: header and payload in one buffer, shared by every receiver.
fn frame(opcode: u8, payload: &[u8]) -> Bytes {
  let mut out = BytesMut::with_capacity(payload.len() + 10);
  out.extend_from_slice(&[0x80 | opcode]);
  match payload.len() {
    len @ 0..=125 => out.extend_from_slice(&[len as u8]),
    len @ 126..=0xFFFF => {
      out.extend_from_slice(&[126]);
      out.extend_from_slice(&(len as u16).to_be_bytes());
    }
    len => {
      out.extend_from_slice(&[127]);
      out.extend_from_slice(&(len as u64).to_be_bytes());
    }
  }
  out.extend_from_slice(payload);
  out.freeze()
}

/// The next whole client frame at the start of `input`, unmasked: (opcode, payload), or None
/// while it is incomplete.
fn next_frame(input: &mut BytesMut) -> Option<(u8, BytesMut)> {
  if input.len() < 2 {
    return None;
  }
  let (opcode, short) = (input[0] & 0x0F, (input[1] & 0x7F) as usize);
  let (len, at) = match short {
    126 if input.len() >= 4 => (u16::from_be_bytes([input[2], input[3]]) as usize, 4),
    127 if input.len() >= 10 => (
      u64::from_be_bytes(input[2..10].try_into().expect("8 bytes")) as usize,
      10,
    ),
    126 | 127 => return None,
    len => (len, 2),
  };
  if input.len() < at + 4 + len {
    return None;
  }
  let mask = [input[at], input[at + 1], input[at + 2], input[at + 3]];
  input.advance(at + 4);
  let mut payload = input.split_to(len);
  for (i, byte) in payload.iter_mut().enumerate() {
    *byte ^= mask[i % 4];
  }
  Some((opcode, payload))
}

async fn connection(stream: TcpStream, id: u64, mode: Mode, registry: Arc<Registry>) {
  let _ = stream.set_nodelay(true);
  let mut room = String::new();
  #[allow(
    clippy::result_large_err,
    reason = "tungstenite's handshake callback returns its error response by value"
  )]
  let remember_path = |request: &Request, response: Response| {
    room = request.uri().path().to_owned();
    Ok(response)
  };
  // The loadgen sends nothing before the 101, so nothing is left in the handshake's buffer.
  let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, remember_path).await else {
    return;
  };
  let (mut read, write) = ws.into_inner().into_split();
  let (queue, queued) = unbounded_channel::<Bytes>();
  registry
    .lock()
    .expect("registry")
    .insert(id, (room.clone(), queue.clone()));
  let writer = tokio::spawn(write_frames(write, queued));
  let mut input = BytesMut::with_capacity(4096);
  'reading: while matches!(read.read_buf(&mut input).await, Ok(n) if n > 0) {
    while let Some((opcode, payload)) = next_frame(&mut input) {
      match opcode {
        TEXT | BINARY => {
          let message = frame(opcode, &payload);
          if mode == Mode::Echo {
            let _ = queue.send(message);
            continue;
          }
          for (their_room, receiver) in registry.lock().expect("registry").values() {
            if mode == Mode::Broadcast || *their_room == room {
              let _ = receiver.send(message.clone());
            }
          }
        }
        PING => {
          let _ = queue.send(frame(PONG, &payload));
        }
        CLOSE => {
          let _ = queue.send(frame(CLOSE, &payload));
          break 'reading;
        }
        _ => {}
      }
    }
    // Keep the buffer small between messages: what is left is at most a partial frame.
    if input.capacity() > 64 * 1024 && input.is_empty() {
      input = BytesMut::with_capacity(4096);
    }
  }
  registry.lock().expect("registry").remove(&id);
  drop(queue);
  let _ = writer.await;
}

/// Writes every frame queued by the time it runs in one vectored write, until the queue closes.
async fn write_frames(mut write: OwnedWriteHalf, mut queued: UnboundedReceiver<Bytes>) {
  let mut batch: Vec<Bytes> = Vec::new();
  while let Some(first) = queued.recv().await {
    batch.push(first);
    // Once more round the run queue first: the connections whose reads are ready queue what
    // they send before this write (ferrows and uWebSockets.js write at the end of a loop turn).
    tokio::task::yield_now().await;
    while let Ok(next) = queued.try_recv() {
      batch.push(next);
    }
    let mut start = 0;
    while start < batch.len() {
      let slices: Vec<IoSlice> = batch[start..].iter().map(|b| IoSlice::new(b)).collect();
      let Ok(mut written) = write.write_vectored(&slices).await else {
        return;
      };
      if written == 0 {
        return;
      }
      while start < batch.len() && written >= batch[start].len() {
        written -= batch[start].len();
        start += 1;
      }
      if written > 0 {
        batch[start].advance(written);
      }
    }
    batch.clear();
  }
  let _ = write.shutdown().await;
}
