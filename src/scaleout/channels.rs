//! The Redis channels of one application (a prefix): one for broadcasts, which every node
//! subscribes to, and one per topic, which a node subscribes to only while one of its
//! connections does. A node with no subscriber of a topic receives nothing for it.
//!
//! A topic's channel is `<prefix>:t:<topic>` for topics up to `MAX_VERBATIM` bytes, else
//! `<prefix>:h:<hash>`: a 128-bit FNV-1a, stable across builds and machines so that every node
//! names a topic alike. Two long topics sharing a hash share a channel, which costs bandwidth,
//! never correctness: each envelope carries its topic and delivery goes by that.
//!
//! The prefix is written with its `%` and `:` escaped, so that its end is the first `:`: two
//! applications never share a channel, whatever their prefixes (unescaped, app `p:t`'s
//! broadcasts went out on app `p`'s channel of topic `all`). A prefix with neither keeps its
//! name as it is.

use std::borrow::Cow;

/// Longest topic used verbatim in its channel's name.
const MAX_VERBATIM: usize = 200;

/// The channel every node subscribes to for broadcasts.
pub fn broadcast(prefix: &str) -> String {
  format!("{}:all", escaped(prefix))
}

/// The channel of `topic`'s messages.
pub fn topic(prefix: &str, topic: &str) -> String {
  let prefix = escaped(prefix);
  if topic.len() <= MAX_VERBATIM {
    format!("{prefix}:t:{topic}")
  } else {
    format!("{prefix}:h:{:032x}", fnv1a_128(topic.as_bytes()))
  }
}

/// `prefix` with no `:` left in it (percent-escaped, `%` too).
fn escaped(prefix: &str) -> Cow<'_, str> {
  if prefix.contains([':', '%']) {
    Cow::Owned(prefix.replace('%', "%25").replace(':', "%3A"))
  } else {
    Cow::Borrowed(prefix)
  }
}

fn fnv1a_128(bytes: &[u8]) -> u128 {
  const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
  const PRIME: u128 = 0x0000000001000000000000000000013b;
  bytes.iter().fold(OFFSET, |hash, b| {
    (hash ^ u128::from(*b)).wrapping_mul(PRIME)
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn short_topics_are_named_verbatim_and_long_ones_by_a_bounded_hash() {
    assert_eq!(topic("app", "room:1"), "app:t:room:1");
    let long = "x".repeat(5000);
    let name = topic("app", &long);
    assert_eq!(name.len(), "app:h:".len() + 32);
    assert_eq!(name, topic("app", &long), "stable");
    assert_ne!(name, topic("app", &"y".repeat(5000)));
    assert_ne!(broadcast("app"), topic("app", "all"));
  }

  #[test]
  fn no_two_prefixes_share_a_channel() {
    assert_ne!(broadcast("p:t"), topic("p", "all"));
    assert_ne!(topic("p:t", "x"), topic("p", "t:x"));
    assert_ne!(topic("p%3At", "x"), topic("p:t", "x"));
    assert_eq!(broadcast("p:t"), "p%3At:all");
    assert_eq!(
      topic("app", "a:b"),
      "app:t:a:b",
      "a plain prefix keeps its name"
    );
  }

  #[test]
  fn the_hash_is_fnv1a_128() {
    // The published FNV-1a 128-bit value for the empty input is its offset basis.
    assert_eq!(fnv1a_128(b""), 0x6c62272e07bb014262b821756295c58d);
    assert_eq!(fnv1a_128(b"a"), 0xd228cb696f1a8caf78912b704e4a8964);
  }
}
