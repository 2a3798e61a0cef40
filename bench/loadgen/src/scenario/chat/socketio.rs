//! The subset of socket.io's protocol (Engine.IO 4 over its WebSocket transport, Socket.IO 5)
//! that the chat room needs, so the same loadgen drives a socket.io server: the request path,
//! the handshake onto the default namespace, and one event, `m`, carrying the chat message as
//! its only argument, a JSON string (the chat's payloads are ASCII digits and letters, so the
//! string needs no escaping and the bytes inside the quotes are the message itself).
//!
//! Engine.IO pings (`2`, every 25 s by default) go unanswered: a run is over well before a
//! server gives up on a client (pingInterval + pingTimeout, 45 s by default).

use crate::conn::{data_of, Error, Target, Ws, CONNECT_TIMEOUT};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// A socket.io EVENT packet on the default namespace, `42["m","`, up to the payload.
const EVENT_HEAD: &[u8] = b"42[\"m\",\"";
/// What follows the payload.
const EVENT_TAIL: &[u8] = b"\"]";

/// The socket.io endpoint of `target`'s server, straight onto the WebSocket transport (no
/// HTTP long-polling first, as clients do with `transports: ['websocket']`). The room travels
/// in the query, as the path does for the other servers.
pub fn target(target: &Target, room: &str) -> Target {
  target.at_path(&format!(
    "/socket.io/?EIO=4&transport=websocket&room={room}"
  ))
}

/// Opens the WebSocket, reads Engine.IO's open packet (`0{...}`), connects to the default
/// namespace (`40`) and waits for the server's CONNECT (`40{"sid":...}`).
pub async fn connect(target: &Target) -> Result<Ws, Error> {
  let mut ws = target.connect().await?;
  let handshake = async {
    expect(&mut ws, b"0{").await?;
    ws.send(Message::Text(Utf8Bytes::from_static("40"))).await?;
    expect(&mut ws, b"40").await?;
    Ok::<(), Error>(())
  };
  tokio::time::timeout(CONNECT_TIMEOUT, handshake)
    .await
    .map_err(|_| "socket.io handshake timed out")??;
  Ok(ws)
}

/// Reads the next data message and checks that it starts with `prefix`.
async fn expect(ws: &mut Ws, prefix: &[u8]) -> Result<(), Error> {
  let msg = ws
    .next()
    .await
    .ok_or("the server closed during the socket.io handshake")??;
  match data_of(&msg) {
    Some((data, false)) if data.starts_with(prefix) => Ok(()),
    _ => Err(
      format!(
        "socket.io handshake: expected {:?}, got {msg:?}",
        String::from_utf8_lossy(prefix)
      )
      .into(),
    ),
  }
}

/// `payload` as the event `m`, ready to send as a text message.
pub fn event(payload: &[u8]) -> Message {
  let mut packet = Vec::with_capacity(EVENT_HEAD.len() + payload.len() + EVENT_TAIL.len());
  packet.extend_from_slice(EVENT_HEAD);
  packet.extend_from_slice(payload);
  packet.extend_from_slice(EVENT_TAIL);
  Message::Text(Utf8Bytes::try_from(Bytes::from(packet)).expect("payloads are ASCII"))
}

/// The payload of an event `m`; None for any other packet (an Engine.IO ping, for one).
pub fn payload(data: &[u8]) -> Option<&[u8]> {
  data.strip_prefix(EVENT_HEAD)?.strip_suffix(EVENT_TAIL)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn events_round_trip() {
    let msg = event(b"00001abc");
    let (data, binary) = data_of(&msg).unwrap();
    assert!(!binary);
    assert_eq!(data, b"42[\"m\",\"00001abc\"]");
    assert_eq!(payload(data), Some(&b"00001abc"[..]));
    assert_eq!(payload(b"2"), None);
    let base = Target::parse("ws://127.0.0.1:9001/", 1024).unwrap();
    assert_eq!(
      target(&base, "/rooms/0").url,
      "ws://127.0.0.1:9001/socket.io/?EIO=4&transport=websocket&room=/rooms/0"
    );
  }
}
