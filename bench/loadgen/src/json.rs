//! Builds the one JSON line each scenario prints. Keys and values are ours (ASCII names,
//! numbers, short strings), so a hand-written writer is enough and keeps serde out of the build.

use std::fmt::Write;

#[derive(Default)]
pub struct JsonLine {
  out: String,
}

impl JsonLine {
  pub fn new() -> Self {
    Self::default()
  }

  fn key(&mut self, key: &str) {
    self.out.push(if self.out.is_empty() { '{' } else { ',' });
    let _ = write!(self.out, "\"{key}\":");
  }

  pub fn str(mut self, key: &str, value: &str) -> Self {
    self.key(key);
    self.out.push('"');
    for c in value.chars() {
      match c {
        '"' => self.out.push_str("\\\""),
        '\\' => self.out.push_str("\\\\"),
        c if (c as u32) < 0x20 => {
          let _ = write!(self.out, "\\u{:04x}", c as u32);
        }
        c => self.out.push(c),
      }
    }
    self.out.push('"');
    self
  }

  pub fn int(mut self, key: &str, value: u64) -> Self {
    self.key(key);
    let _ = write!(self.out, "{value}");
    self
  }

  /// A float with a fixed number of decimals; NaN and infinities become null.
  pub fn num(mut self, key: &str, value: f64, decimals: usize) -> Self {
    self.key(key);
    if value.is_finite() {
      let _ = write!(self.out, "{value:.decimals$}");
    } else {
      self.out.push_str("null");
    }
    self
  }

  pub fn opt_num(self, key: &str, value: Option<f64>, decimals: usize) -> Self {
    self.num(key, value.unwrap_or(f64::NAN), decimals)
  }

  pub fn bool(mut self, key: &str, value: bool) -> Self {
    self.key(key);
    self.out.push_str(if value { "true" } else { "false" });
    self
  }

  pub fn finish(mut self) -> String {
    if self.out.is_empty() {
      self.out.push('{');
    }
    self.out.push('}');
    self.out
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn writes_one_object() {
    let line = JsonLine::new()
      .str("scenario", "echo \"x\"")
      .int("conns", 100)
      .num("rate", 1.5, 1)
      .num("nan", f64::NAN, 1)
      .bool("ok", true)
      .finish();
    assert_eq!(
      line,
      r#"{"scenario":"echo \"x\"","conns":100,"rate":1.5,"nan":null,"ok":true}"#
    );
  }
}
