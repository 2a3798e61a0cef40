//! A log-linear latency histogram in nanoseconds: 64 sub-buckets per power of two (under 1.6 %
//! error), fixed size, so recording is an index computation and merging is an addition. Sorting
//! raw samples would cost memory proportional to millions of messages.

const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Values below 2 * SUB are their own bucket; above, each power of two gets SUB buckets.
const BUCKETS: usize = ((64 - SUB_BITS) as usize + 1) * SUB as usize;

#[derive(Clone)]
pub struct Histogram {
  counts: Vec<u64>,
  total: u64,
}

impl Default for Histogram {
  fn default() -> Self {
    Histogram {
      counts: vec![0; BUCKETS],
      total: 0,
    }
  }
}

fn index(value: u64) -> usize {
  if value < 2 * SUB {
    return value as usize;
  }
  let magnitude = 63 - value.leading_zeros();
  let shift = magnitude - SUB_BITS;
  (shift as u64 * SUB + (value >> shift)) as usize
}

/// The middle of a bucket, the value reported for every sample in it.
fn value_of(index: usize) -> u64 {
  let index = index as u64;
  if index < 2 * SUB {
    return index;
  }
  let shift = index / SUB - 1;
  let mantissa = index - shift * SUB;
  (mantissa << shift) + (1 << shift) / 2
}

impl Histogram {
  pub fn record(&mut self, nanos: u64) {
    self.counts[index(nanos)] += 1;
    self.total += 1;
  }

  pub fn merge(&mut self, other: &Histogram) {
    for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
      *mine += theirs;
    }
    self.total += other.total;
  }

  /// The value at quantile `q` (0..=1) in nanoseconds, or None when empty.
  pub fn quantile(&self, q: f64) -> Option<u64> {
    if self.total == 0 {
      return None;
    }
    let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
    let mut seen = 0;
    for (i, count) in self.counts.iter().enumerate() {
      seen += count;
      if seen >= rank {
        return Some(value_of(i));
      }
    }
    unreachable!("rank is at most total")
  }

  /// A quantile in microseconds, as the JSON reports latencies.
  pub fn quantile_us(&self, q: f64) -> Option<f64> {
    self.quantile(q).map(|ns| ns as f64 / 1000.0)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn buckets_are_contiguous_and_cover_u64() {
    assert_eq!(index(0), 0);
    assert_eq!(index(127), 127);
    assert_eq!(index(128), 128);
    assert_eq!(index(255), 191);
    assert_eq!(index(256), 192);
    assert_eq!(index(u64::MAX), BUCKETS - 1);
  }

  #[test]
  fn values_are_within_two_percent() {
    for v in [1u64, 100, 1_000, 12_345, 1_000_000, 987_654_321] {
      let back = value_of(index(v)) as f64;
      assert!((back - v as f64).abs() / v as f64 <= 0.02, "{v} -> {back}");
    }
  }

  #[test]
  fn quantiles() {
    let mut h = Histogram::default();
    assert_eq!(h.quantile(0.5), None);
    for v in 1..=100u64 {
      h.record(v);
    }
    assert_eq!(h.quantile(0.5), Some(50));
    assert_eq!(h.quantile(0.99), Some(99));
    assert_eq!(h.quantile(1.0), Some(100));
    let mut other = Histogram::default();
    other.record(1_000);
    h.merge(&other);
    assert_eq!(h.quantile(1.0), Some(value_of(index(1_000))));
  }
}
