//! Maps keyed by connection id. The engine hands ids out in sequence, and no peer chooses them,
//! so they need no flood-resistant hash: one multiplication spreads them over the table, where
//! the standard SipHash costs a send loop's batch a hash of some 20 ns per delivery.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// 2^64 divided by the golden ratio: consecutive ids land far apart in the high bits the table
/// tags its slots with, and, the factor being odd, on distinct low bits that pick the slot.
const SPREAD: u64 = 0x9e37_79b9_7f4a_7c15;

/// A map from connection id to `V`.
pub type ById<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
  fn write(&mut self, bytes: &[u8]) {
    for &byte in bytes {
      self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(SPREAD);
    }
  }

  fn write_u32(&mut self, id: u32) {
    self.0 = u64::from(id).wrapping_mul(SPREAD);
  }

  fn finish(&self) -> u64 {
    self.0
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::hash::BuildHasher;

  #[test]
  fn consecutive_ids_spread_over_slots_and_tags() {
    let build = BuildHasherDefault::<IdHasher>::default();
    let hashes: Vec<u64> = (0..1024u32).map(|id| build.hash_one(id)).collect();
    let slots: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 1023).collect();
    assert_eq!(
      slots.len(),
      1024,
      "1,024 consecutive ids take 1,024 slots of 1,024"
    );
    let tags: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
    assert_eq!(tags.len(), 128, "and use all 128 seven-bit tags");
  }

  #[test]
  fn a_map_by_id_finds_what_it_holds() {
    let mut map = ById::default();
    for id in 0..10_000u32 {
      map.insert(id.wrapping_mul(7), id);
    }
    assert!((0..10_000u32).all(|id| map.get(&id.wrapping_mul(7)) == Some(&id)));
    assert_eq!(map.get(&1), None);
  }
}
