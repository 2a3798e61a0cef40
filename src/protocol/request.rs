//! An upgrade request read straight off a new connection (the Rust-first intake, before Node's
//! HTTP parser sees it). Only a plain, valid WebSocket upgrade is taken; anything else, malformed
//! or merely unusual, is left to Node, whose parser and the usual upgrade path answer it exactly
//! as before. So this parser may be strict without ever refusing a request itself.

use std::collections::HashSet;

use crate::protocol::handshake::{self, trim_ows};

/// Headers a request may carry and still be taken here; a larger one goes to Node.
const MAX_HEADERS: usize = 32;

/// What the handshake needs from a request taken here.
#[derive(Debug, PartialEq, Eq)]
pub struct Upgrade<'a> {
  pub key: &'a str,
  /// The first subprotocol offered: the native face's choice without `handleProtocols`.
  pub protocol: Option<&'a str>,
  /// Every `Sec-WebSocket-Extensions` value, joined as Node joins repeated headers.
  pub extensions: Option<String>,
  /// The request's length; the bytes after it are the client's first frames.
  pub len: usize,
}

/// Records a header that may appear once; false when it appears again.
fn once<'a>(slot: &mut Option<&'a str>, value: &'a str) -> bool {
  slot.replace(value).is_none()
}

fn is_token(s: &str) -> bool {
  !s.is_empty()
    && s
      .bytes()
      .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether every line of `head` ends with CRLF. httparse also takes a bare LF, which Node's
/// parser refuses with 400: such a request must reach it.
fn crlf_only(head: &[u8]) -> bool {
  head
    .iter()
    .enumerate()
    .all(|(i, &b)| b != b'\n' || (i > 0 && head[i - 1] == b'\r'))
}

/// The upgrade in `bytes`, or None when Node should have the connection (not a complete GET
/// upgrade to WebSocket 13 with a valid key, or anything this parser does not take).
pub fn parse(bytes: &[u8]) -> Option<Upgrade<'_>> {
  let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
  let mut request = httparse::Request::new(&mut headers);
  let httparse::Status::Complete(len) = request.parse(bytes).ok()? else {
    return None;
  };
  if !crlf_only(&bytes[..len]) {
    return None;
  }
  if request.method != Some("GET") || request.version != Some(1) {
    return None;
  }
  // httparse takes bytes past ASCII in the request-target, which Node's parser refuses with 400.
  if !request.path?.bytes().all(|b| b.is_ascii_graphic()) {
    return None;
  }
  let (mut upgrade, mut connection, mut key, mut version) = (None, false, None, None);
  let mut protocols: Vec<&str> = Vec::new();
  let mut extensions: Option<String> = None;
  for header in request.headers.iter() {
    let value = trim_ows(std::str::from_utf8(header.value).ok()?);
    let name = header.name;
    let fine = if name.eq_ignore_ascii_case("upgrade") {
      once(&mut upgrade, value)
    } else if name.eq_ignore_ascii_case("connection") {
      connection |= value
        .split(',')
        .any(|t| trim_ows(t).eq_ignore_ascii_case("upgrade"));
      true
    } else if name.eq_ignore_ascii_case("sec-websocket-key") {
      once(&mut key, value)
    } else if name.eq_ignore_ascii_case("sec-websocket-version") {
      once(&mut version, value)
    } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
      protocols.extend(value.split(',').map(trim_ows));
      true
    } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
      let joined = extensions.get_or_insert_with(String::new);
      if !joined.is_empty() {
        joined.push_str(", ");
      }
      joined.push_str(value);
      true
    } else {
      // A body on an upgrade is Node's to deal with.
      !name.eq_ignore_ascii_case("content-length")
        && !name.eq_ignore_ascii_case("transfer-encoding")
    };
    if !fine {
      return None;
    }
  }
  let is_websocket = upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
  if !is_websocket || !connection || handshake::check(key, version).is_err() {
    return None;
  }
  // A set, not a scan of the ones before: a client may offer thousands.
  let mut seen = HashSet::with_capacity(protocols.len());
  let distinct = protocols.iter().all(|p| is_token(p) && seen.insert(*p));
  if !distinct {
    return None;
  }
  Some(Upgrade {
    key: key?,
    protocol: protocols.first().copied(),
    extensions,
    len,
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

  fn request(extra: &str) -> String {
    format!(
      "GET /chat?room=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
  }

  #[test]
  fn a_plain_upgrade_is_taken_with_the_bytes_after_it() {
    let text = request("Sec-WebSocket-Protocol: chat, superchat\r\n") + "\u{81}";
    let upgrade = parse(text.as_bytes()).unwrap();
    assert_eq!(upgrade.key, KEY);
    assert_eq!(upgrade.protocol, Some("chat"));
    assert_eq!(upgrade.extensions, None);
    assert_eq!(upgrade.len, text.len() - 2);
  }

  #[test]
  fn repeated_extension_headers_are_joined() {
    let text = request("Sec-WebSocket-Extensions: a\r\nSec-WebSocket-Extensions: b; c=1\r\n");
    assert_eq!(
      parse(text.as_bytes()).unwrap().extensions.as_deref(),
      Some("a, b; c=1")
    );
  }

  #[test]
  fn tabs_and_spaces_around_values_are_read_past() {
    let text = request("Sec-WebSocket-Protocol: \tchat ,\tsuperchat \r\n")
      .replace("websocket\r\n", "websocket \t\r\n");
    assert_eq!(parse(text.as_bytes()).unwrap().protocol, Some("chat"));
  }

  #[test]
  fn a_long_list_of_subprotocols_is_checked_whole() {
    let offered: Vec<String> = (0..5000).map(|i| format!("p{i}")).collect();
    let text = request(&format!(
      "Sec-WebSocket-Protocol: {}\r\n",
      offered.join(", ")
    ));
    assert_eq!(parse(text.as_bytes()).unwrap().protocol, Some("p0"));
    let repeated = request(&format!(
      "Sec-WebSocket-Protocol: {}, p4999\r\n",
      offered.join(", ")
    ));
    assert_eq!(parse(repeated.as_bytes()), None);
  }

  #[test]
  fn everything_else_is_left_to_node() {
    let plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_string();
    let post = request("").replacen("GET", "POST", 1);
    let partial = request("")[..40].to_string();
    let old = request("").replacen("HTTP/1.1", "HTTP/1.0", 1);
    let cases = [
      plain,
      post,
      partial,
      old,
      request("").replace("Version: 13", "Version: 8"),
      request("").replace(KEY, "short"),
      request("").replace("keep-alive, Upgrade", "keep-alive"),
      request("Upgrade: websocket\r\n"),
      request("Content-Length: 5\r\n"),
      request("Sec-WebSocket-Protocol: a, a\r\n"),
      request("Sec-WebSocket-Protocol: a b\r\n"),
      request("").replace("\r\n", "\n"),
      request("").replacen("Host: x\r\n", "Host: x\n", 1),
      // Only SP and HTAB are whitespace around a value: not a Unicode space.
      request("").replace("Upgrade\r\nSec", "Upgrade\u{a0}\r\nSec"),
      request("").replace(KEY, &format!("{KEY}\u{a0}")),
      request("").replace("Version: 13", "Version: 13\u{a0}"),
      request("").replace("websocket\r\n", "websocket\u{a0}\r\n"),
      request("").replacen("/chat", "/caf\u{e9}", 1),
    ];
    for text in cases {
      assert_eq!(parse(text.as_bytes()), None, "{text:?}");
    }
  }
}
