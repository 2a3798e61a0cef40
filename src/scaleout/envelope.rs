//! The binary envelope a message crosses Redis in (see `scaleout/mod.rs`).
//!
//! Layout, version 1:
//!
//! | bytes | field                                                        |
//! |-------|--------------------------------------------------------------|
//! | 1     | version (1)                                                  |
//! | 1     | flags: bit 0 set for a topic (else broadcast), bit 1 binary  |
//! | 16    | node id of the sender                                        |
//! | 4     | topic length in bytes, big-endian (0 for a broadcast)        |
//! | n     | topic, UTF-8                                                 |
//! | rest  | payload                                                      |
//!
//! Binary-safe: lengths, not separators. A decoder ignores any other version, so nodes of a newer
//! format can share a channel with older ones without being misread.

use crate::protocol::frame::Kind;

pub const VERSION: u8 = 1;
const TOPIC: u8 = 1;
const BINARY: u8 = 2;
const NODE_LEN: usize = 16;
const HEADER: usize = 2 + NODE_LEN + 4;

pub type NodeId = [u8; NODE_LEN];

/// One message from one node: to a topic's subscribers, or to every connection.
#[derive(Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
  pub node: NodeId,
  pub topic: Option<&'a str>,
  /// `Text` or `Binary`.
  pub kind: Kind,
  pub payload: &'a [u8],
}

impl<'a> Envelope<'a> {
  pub fn encode(&self) -> Vec<u8> {
    let topic = self.topic.unwrap_or("");
    let mut out = Vec::with_capacity(HEADER + topic.len() + self.payload.len());
    let mut flags = 0;
    if self.topic.is_some() {
      flags |= TOPIC;
    }
    if self.kind == Kind::Binary {
      flags |= BINARY;
    }
    out.extend_from_slice(&[VERSION, flags]);
    out.extend_from_slice(&self.node);
    out.extend_from_slice(&(topic.len() as u32).to_be_bytes());
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(self.payload);
    out
  }

  /// The topic of an envelope this node encoded (None for a broadcast), read without checking
  /// the payload.
  pub fn topic_of(bytes: &[u8]) -> Option<&str> {
    if bytes.len() < HEADER || bytes[1] & TOPIC == 0 {
      return None;
    }
    let len = u32::from_be_bytes(bytes[2 + NODE_LEN..HEADER].try_into().ok()?) as usize;
    std::str::from_utf8(bytes.get(HEADER..HEADER + len)?).ok()
  }

  /// None for another version, a truncated envelope, or text that is not UTF-8 (a client must
  /// never receive an invalid text frame, whoever wrote to the channel).
  pub fn decode(bytes: &'a [u8]) -> Option<Self> {
    if bytes.len() < HEADER || bytes[0] != VERSION {
      return None;
    }
    let flags = bytes[1];
    let node: NodeId = bytes[2..2 + NODE_LEN].try_into().ok()?;
    let len_at = 2 + NODE_LEN;
    let topic_len = u32::from_be_bytes(bytes[len_at..HEADER].try_into().ok()?) as usize;
    let rest = &bytes[HEADER..];
    if topic_len > rest.len() {
      return None;
    }
    let (topic, payload) = rest.split_at(topic_len);
    let kind = if flags & BINARY != 0 {
      Kind::Binary
    } else {
      std::str::from_utf8(payload).ok()?;
      Kind::Text
    };
    let topic = if flags & TOPIC != 0 {
      Some(std::str::from_utf8(topic).ok()?)
    } else {
      None
    };
    Some(Envelope {
      node,
      topic,
      kind,
      payload,
    })
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use proptest::prelude::*;

  #[test]
  fn a_broadcast_and_a_topic_message_survive_the_trip() {
    for topic in [None, Some(""), Some("room:é")] {
      for (kind, payload) in [
        (Kind::Text, &b"hi"[..]),
        (Kind::Binary, &[0, 255, 10, 13][..]),
      ] {
        let env = Envelope {
          node: [9; 16],
          topic,
          kind,
          payload,
        };
        let bytes = env.encode();
        assert_eq!(Envelope::topic_of(&bytes), topic);
        assert_eq!(Envelope::decode(&bytes), Some(env));
      }
    }
  }

  #[test]
  fn other_versions_truncation_and_bad_text_are_refused() {
    let env = Envelope {
      node: [1; 16],
      topic: Some("t"),
      kind: Kind::Text,
      payload: b"ok",
    };
    let mut bytes = env.encode();
    assert!(Envelope::decode(&bytes[..HEADER]).is_none());
    bytes[0] = 2;
    assert!(Envelope::decode(&bytes).is_none());
    bytes[0] = VERSION;
    bytes.push(0xff);
    assert!(Envelope::decode(&bytes).is_none());
    assert!(Envelope::decode(b"").is_none());
  }

  proptest! {
    #[test]
    fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
      let _ = Envelope::decode(&bytes);
    }

    #[test]
    fn binary_payloads_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..256), t in "[a-z]{0,8}") {
      let env = Envelope { node: [3; 16], topic: Some(&t), kind: Kind::Binary, payload: &payload };
      let bytes = env.encode();
      prop_assert_eq!(Envelope::decode(&bytes), Some(env));
    }
  }
}
