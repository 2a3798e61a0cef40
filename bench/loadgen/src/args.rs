//! A tiny `--flag value` parser: the loadgen has a dozen numeric flags and no need for a
//! dependency. Every flag given must be used by the scenario, so a typo fails loudly instead of
//! silently benchmarking the default.

use std::collections::BTreeMap;
use std::str::FromStr;

pub struct Args {
  flags: BTreeMap<String, Option<String>>,
  used: std::cell::RefCell<Vec<String>>,
}

impl Args {
  /// Parses `--name value` pairs and bare `--switch`es (a switch is a flag followed by another
  /// flag or by nothing).
  pub fn parse(raw: &[String]) -> Result<Args, String> {
    let mut flags = BTreeMap::new();
    let mut iter = raw.iter().peekable();
    while let Some(arg) = iter.next() {
      let name = arg
        .strip_prefix("--")
        .ok_or_else(|| format!("expected a --flag, got {arg:?}"))?;
      let value = match iter.peek() {
        Some(next) if !next.starts_with("--") => iter.next().cloned(),
        _ => None,
      };
      if flags.insert(name.to_string(), value).is_some() {
        return Err(format!("--{name} given twice"));
      }
    }
    Ok(Args {
      flags,
      used: Default::default(),
    })
  }

  fn take(&self, name: &str) -> Option<&Option<String>> {
    self.used.borrow_mut().push(name.to_string());
    self.flags.get(name)
  }

  /// A numeric (or other parseable) flag with a default.
  pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
    match self.take(name) {
      None => Ok(default),
      Some(None) => Err(format!("--{name} needs a value")),
      Some(Some(text)) => text
        .parse()
        .map_err(|_| format!("--{name}: cannot parse {text:?}")),
    }
  }

  pub fn string(&self, name: &str, default: &str) -> Result<String, String> {
    self.get(name, default.to_string())
  }

  /// A bare switch such as `--binary`.
  pub fn switch(&self, name: &str) -> Result<bool, String> {
    match self.take(name) {
      None => Ok(false),
      Some(None) => Ok(true),
      Some(Some(value)) => Err(format!(
        "--{name} is a switch and takes no value ({value:?})"
      )),
    }
  }

  /// Fails on any flag that no getter asked for.
  pub fn finish(&self) -> Result<(), String> {
    let used = self.used.borrow();
    match self.flags.keys().find(|name| !used.contains(name)) {
      Some(name) => Err(format!("unknown flag --{name} for this scenario")),
      None => Ok(()),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn args(list: &[&str]) -> Args {
    let raw: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    Args::parse(&raw).unwrap()
  }

  #[test]
  fn values_switches_and_defaults() {
    let a = args(&["--conns", "100", "--binary", "--size", "32"]);
    assert_eq!(a.get("conns", 1u32).unwrap(), 100);
    assert!(a.switch("binary").unwrap());
    assert_eq!(a.get("size", 0usize).unwrap(), 32);
    assert_eq!(a.get("inflight", 7u32).unwrap(), 7);
    a.finish().unwrap();
  }

  #[test]
  fn unknown_flags_are_rejected() {
    let a = args(&["--conn", "100"]);
    assert_eq!(a.get("conns", 1u32).unwrap(), 1);
    assert!(a.finish().is_err());
  }

  #[test]
  fn bad_numbers_are_rejected() {
    assert!(args(&["--conns", "many"]).get("conns", 1u32).is_err());
  }
}
