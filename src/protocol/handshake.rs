//! The server side of the opening handshake: request checks, the `101` response, rejections.
//!
//! Node has already parsed the HTTP request; this module decides on the fields that matter to
//! RFC 6455 and writes the bytes of the answer.

use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Why a handshake request is refused, as the HTTP status the client receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
  /// 400: missing or malformed `Sec-WebSocket-Key`.
  BadKey,
  /// 426 with `Sec-WebSocket-Version: 13`: a version other than 13.
  UnsupportedVersion,
}

impl Rejection {
  pub fn status(self) -> u16 {
    match self {
      Rejection::BadKey => 400,
      Rejection::UnsupportedVersion => 426,
    }
  }
}

/// A key is the base64 encoding of 16 bytes: 22 characters of the alphabet and `==`.
fn is_valid_key(key: &str) -> bool {
  let bytes = key.as_bytes();
  bytes.len() == 24
    && bytes.ends_with(b"==")
    && bytes[..22]
      .iter()
      .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

/// A header value without the optional whitespace HTTP allows around it (SP and HTAB only,
/// RFC 9110 §5.6.3): Rust's `trim` would also drop Unicode spaces, and take a key or an
/// `Upgrade` that Node and the peers refuse.
pub fn trim_ows(value: &str) -> &str {
  value.trim_matches([' ', '\t'])
}

/// Checks the fields of a request that RFC 6455 §4.2.1 leaves to the WebSocket layer.
pub fn check(key: Option<&str>, version: Option<&str>) -> Result<(), Rejection> {
  if version.map(trim_ows) != Some("13") {
    return Err(Rejection::UnsupportedVersion);
  }
  match key.map(trim_ows) {
    Some(k) if is_valid_key(k) => Ok(()),
    _ => Err(Rejection::BadKey),
  }
}

/// Header lines a caller adds to the 101 must not smuggle in a line break.
fn is_safe_header_line(line: &str) -> bool {
  !line.contains(['\r', '\n']) && line.contains(':')
}

/// The `101 Switching Protocols` response for `key`, with the chosen subprotocol and any
/// extra header lines; an error naming the first line (or the protocol) that would smuggle in a
/// line break.
pub fn response(key: &str, protocol: Option<&str>, extra: &[String]) -> Result<Vec<u8>, String> {
  if let Some(bad) = extra.iter().find(|l| !is_safe_header_line(l)) {
    return Err(format!("invalid response header line: {bad:?}"));
  }
  if protocol.is_some_and(|p| p.contains(['\r', '\n'])) {
    return Err("invalid subprotocol".into());
  }
  Ok(unchecked_response(key, protocol, extra))
}

/// The `Sec-WebSocket-Accept` value for `key` (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
  derive_accept_key(trim_ows(key).as_bytes())
}

fn unchecked_response(key: &str, protocol: Option<&str>, extra: &[String]) -> Vec<u8> {
  let mut out = String::with_capacity(160);
  out.push_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
  out.push_str("Sec-WebSocket-Accept: ");
  out.push_str(&accept_key(key));
  out.push_str("\r\n");
  if let Some(p) = protocol {
    out.push_str("Sec-WebSocket-Protocol: ");
    out.push_str(p);
    out.push_str("\r\n");
  }
  for line in extra {
    out.push_str(line);
    out.push_str("\r\n");
  }
  out.push_str("\r\n");
  out.into_bytes()
}

#[cfg(test)]
mod tests {
  use super::*;

  const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

  #[test]
  fn rfc_sample_key_gives_the_rfc_accept_value() {
    let text = String::from_utf8(response(KEY, None, &[]).unwrap()).unwrap();
    assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert!(text.ends_with("\r\n\r\n"));
    assert!(!text.contains("Sec-WebSocket-Protocol"));
  }

  #[test]
  fn chosen_protocol_and_extra_lines_are_written() {
    let extra = vec!["Set-Cookie: a=b".to_string()];
    let text = String::from_utf8(response(KEY, Some("chat"), &extra).unwrap()).unwrap();
    assert!(text.contains("Sec-WebSocket-Protocol: chat\r\nSet-Cookie: a=b\r\n\r\n"));
  }

  #[test]
  fn version_other_than_13_needs_an_upgrade() {
    assert_eq!(
      check(Some(KEY), Some("8")),
      Err(Rejection::UnsupportedVersion)
    );
    assert_eq!(check(Some(KEY), None), Err(Rejection::UnsupportedVersion));
    assert_eq!(Rejection::UnsupportedVersion.status(), 426);
  }

  #[test]
  fn malformed_keys_are_bad_requests() {
    for key in [
      None,
      Some(""),
      Some("short=="),
      Some("dGhlIHNhbXBsZSBub25jZQ="),
      Some("dGhlIHNhbXBsZSBub25jZ!=="),
    ] {
      assert_eq!(check(key, Some("13")), Err(Rejection::BadKey), "{key:?}");
    }
    assert_eq!(check(Some(KEY), Some("13")), Ok(()));
  }

  #[test]
  fn header_lines_with_line_breaks_are_unsafe() {
    assert!(is_safe_header_line("X-A: b"));
    assert!(!is_safe_header_line("X-A: b\r\nX-Evil: c"));
    assert!(!is_safe_header_line("no colon"));
  }

  #[test]
  fn a_response_refuses_a_line_break_in_a_header_line_or_the_protocol() {
    let smuggled = vec!["X-A: b\r\nX-Evil: c".to_string()];
    assert!(response(KEY, None, &smuggled)
      .unwrap_err()
      .contains("X-Evil"));
    assert_eq!(
      response(KEY, Some("a\r\nb"), &[]).unwrap_err(),
      "invalid subprotocol"
    );
  }
}

#[cfg(test)]
mod properties {
  use super::*;
  use proptest::prelude::*;

  proptest! {
    #[test]
    fn any_header_value_is_classified_without_panicking(key in ".{0,64}", version in ".{0,8}") {
      let _ = check(Some(&key), Some(&version));
    }

    #[test]
    fn every_base64_encoding_of_16_bytes_is_accepted(bytes in any::<[u8; 16]>()) {
      let key = data_encoding::BASE64.encode(&bytes);
      prop_assert_eq!(check(Some(&key), Some("13")), Ok(()));
    }

    #[test]
    fn header_lines_with_a_line_break_are_refused(a in "[a-zA-Z-]{1,10}", b in ".{0,20}", c in ".{0,20}") {
      let line = format!("{a}: {b}\r\n{c}");
      prop_assert!(!is_safe_header_line(&line));
    }
  }
}
