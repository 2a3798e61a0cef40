//! `Sec-WebSocket-Extensions` (RFC 6455 §9.1) and the negotiation of permessage-deflate
//! (RFC 7692 §7.1): which of the client's offers the server accepts, with what parameters, and
//! the value of the header it answers with.
//!
//! As `ws` does, a malformed header or a permessage-deflate offer with an unknown or invalid
//! parameter refuses the handshake (400); an offer that is valid but cannot be accepted is
//! passed over, and without an acceptable one the connection runs uncompressed.

use std::fmt::Write;

/// The server's side of the negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflatePolicy {
  /// Compress each message from an empty window: no compressor state is kept per connection.
  pub server_no_context_takeover: bool,
  /// Ask the client to do the same, so no decompressor state is kept per connection either.
  pub client_no_context_takeover: bool,
  /// The largest window the server compresses with (9 to 15).
  pub server_max_window_bits: u8,
  /// The largest window the server asks the client to compress with (8 to 15; 15 asks nothing).
  pub client_max_window_bits: u8,
}

/// The parameters both sides agreed for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
  pub server_no_context_takeover: bool,
  pub client_no_context_takeover: bool,
  /// The window the server compresses with.
  pub server_window_bits: u8,
  /// The largest window the client may compress with.
  pub client_window_bits: u8,
}

impl Agreed {
  /// The value of the `Sec-WebSocket-Extensions` response header.
  pub fn response(&self, offered_client_bits: bool) -> String {
    let mut out = String::from("permessage-deflate");
    if self.server_no_context_takeover {
      out.push_str("; server_no_context_takeover");
    }
    if self.client_no_context_takeover {
      out.push_str("; client_no_context_takeover");
    }
    if self.server_window_bits < 15 {
      let _ = write!(out, "; server_max_window_bits={}", self.server_window_bits);
    }
    if offered_client_bits && self.client_window_bits < 15 {
      let _ = write!(out, "; client_max_window_bits={}", self.client_window_bits);
    }
    out
  }
}

/// The header is malformed, or a permessage-deflate offer carries an unknown or invalid
/// parameter: the handshake is refused with 400.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

/// One permessage-deflate offer's parameters.
#[derive(Default)]
struct Offer {
  server_no_context_takeover: bool,
  client_no_context_takeover: bool,
  server_max_window_bits: Option<u8>,
  /// Present, with its value if it had one.
  client_max_window_bits: Option<Option<u8>>,
}

/// Picks the first acceptable permessage-deflate offer of `header`; returns the agreement and
/// the response header's value, or None when the connection runs uncompressed.
pub fn negotiate(
  header: &str,
  policy: &DeflatePolicy,
) -> Result<Option<(Agreed, String)>, Malformed> {
  let mut chosen = None;
  for (name, params) in parse(header)? {
    if !name.eq_ignore_ascii_case("permessage-deflate") {
      continue;
    }
    let offer = offer(&params)?;
    if chosen.is_none() {
      chosen = accept(&offer, policy);
    }
  }
  Ok(chosen)
}

fn accept(offer: &Offer, policy: &DeflatePolicy) -> Option<(Agreed, String)> {
  let server_window_bits = match offer.server_max_window_bits {
    // zlib cannot compress raw DEFLATE with a 256-byte window: pass this offer over.
    Some(8) => return None,
    Some(bits) => bits.min(policy.server_max_window_bits),
    None => policy.server_max_window_bits,
  };
  let client_window_bits = match offer.client_max_window_bits {
    Some(bits) => bits.unwrap_or(15).min(policy.client_max_window_bits),
    // The client did not offer to narrow its window, so the server cannot ask it to: an
    // application that set a smaller one (to bound what each connection's inflater holds)
    // passes this offer over, as `ws` does.
    None if policy.client_max_window_bits < 15 => return None,
    None => 15,
  };
  let agreed = Agreed {
    server_no_context_takeover: offer.server_no_context_takeover
      || policy.server_no_context_takeover,
    client_no_context_takeover: offer.client_no_context_takeover
      || policy.client_no_context_takeover,
    server_window_bits,
    client_window_bits,
  };
  let response = agreed.response(offer.client_max_window_bits.is_some());
  Some((agreed, response))
}

fn window_bits(value: Option<&str>) -> Result<u8, Malformed> {
  value
    .and_then(|v| v.parse::<u8>().ok())
    .filter(|bits| (8..=15).contains(bits))
    .ok_or(Malformed)
}

fn offer(params: &[(String, Option<String>)]) -> Result<Offer, Malformed> {
  let mut offer = Offer::default();
  let mut seen = Vec::with_capacity(params.len());
  for (name, value) in params {
    let name = name.to_ascii_lowercase();
    if seen.contains(&name) {
      return Err(Malformed);
    }
    let value = value.as_deref();
    match name.as_str() {
      "server_no_context_takeover" if value.is_none() => offer.server_no_context_takeover = true,
      "client_no_context_takeover" if value.is_none() => offer.client_no_context_takeover = true,
      "server_max_window_bits" => offer.server_max_window_bits = Some(window_bits(value)?),
      "client_max_window_bits" => {
        offer.client_max_window_bits = Some(value.map(|v| window_bits(Some(v))).transpose()?)
      }
      _ => return Err(Malformed),
    }
    seen.push(name);
  }
  Ok(offer)
}

fn is_token_char(c: char) -> bool {
  c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The extensions of a `Sec-WebSocket-Extensions` header: names with their parameters.
type Extensions = Vec<(String, Vec<(String, Option<String>)>)>;

/// Parses the header's grammar: `name *( ";" param [ "=" ( token | quoted-string ) ] )`,
/// extensions separated by commas, whitespace around separators.
fn parse(header: &str) -> Result<Extensions, Malformed> {
  let mut chars = header.chars().peekable();
  let mut out: Extensions = Vec::new();
  let skip_ws = |chars: &mut std::iter::Peekable<std::str::Chars>| {
    while matches!(chars.peek(), Some(' ' | '\t')) {
      chars.next();
    }
  };
  let token = |chars: &mut std::iter::Peekable<std::str::Chars>| {
    let mut t = String::new();
    while let Some(&c) = chars.peek().filter(|c| is_token_char(**c)) {
      t.push(c);
      chars.next();
    }
    (!t.is_empty()).then_some(t).ok_or(Malformed)
  };
  loop {
    skip_ws(&mut chars);
    let name = token(&mut chars)?;
    let mut params = Vec::new();
    loop {
      skip_ws(&mut chars);
      match chars.next() {
        None => {
          out.push((name, params));
          return Ok(out);
        }
        Some(',') => break,
        Some(';') => {}
        Some(_) => return Err(Malformed),
      }
      skip_ws(&mut chars);
      let param = token(&mut chars)?;
      skip_ws(&mut chars);
      let value = if chars.peek() == Some(&'=') {
        chars.next();
        skip_ws(&mut chars);
        if chars.peek() == Some(&'"') {
          chars.next();
          let mut v = String::new();
          loop {
            match chars.next() {
              Some('"') => break,
              Some('\\') => v.push(chars.next().ok_or(Malformed)?),
              Some(c) => v.push(c),
              None => return Err(Malformed),
            }
          }
          // A quoted value must still be a token (RFC 6455 §9.1).
          if v.is_empty() || !v.chars().all(is_token_char) {
            return Err(Malformed);
          }
          Some(v)
        } else {
          Some(token(&mut chars)?)
        }
      } else {
        None
      };
      params.push((param, value));
    }
    out.push((name, params));
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const POLICY: DeflatePolicy = DeflatePolicy {
    server_no_context_takeover: true,
    client_no_context_takeover: true,
    server_max_window_bits: 15,
    client_max_window_bits: 15,
  };

  fn response(header: &str, policy: &DeflatePolicy) -> Option<String> {
    negotiate(header, policy).unwrap().map(|(_, r)| r)
  }

  #[test]
  fn a_browsers_offer_is_answered_without_context_takeover() {
    assert_eq!(
      response("permessage-deflate; client_max_window_bits", &POLICY).as_deref(),
      Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
  }

  #[test]
  fn window_bits_are_the_smaller_of_offer_and_policy() {
    let policy = DeflatePolicy {
      server_max_window_bits: 12,
      client_max_window_bits: 10,
      ..POLICY
    };
    let (agreed, r) = negotiate(
      "permessage-deflate; server_max_window_bits=14; client_max_window_bits=9",
      &policy,
    )
    .unwrap()
    .unwrap();
    assert_eq!(
      (agreed.server_window_bits, agreed.client_window_bits),
      (12, 9)
    );
    assert!(
      r.ends_with("server_max_window_bits=12; client_max_window_bits=9"),
      "{r}"
    );
  }

  #[test]
  fn client_window_bits_are_only_answered_when_offered() {
    let r = response("permessage-deflate", &POLICY).unwrap();
    assert!(!r.contains("client_max_window_bits"), "{r}");
    let policy = DeflatePolicy {
      client_max_window_bits: 10,
      ..POLICY
    };
    assert_eq!(
      response(
        "permessage-deflate, permessage-deflate; client_max_window_bits",
        &policy
      )
      .as_deref(),
      Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10"),
      "an offer the server cannot narrow is passed over for one it can"
    );
    assert_eq!(response("permessage-deflate", &policy), None);
  }

  #[test]
  fn context_takeover_is_kept_when_the_policy_allows_it() {
    let policy = DeflatePolicy {
      server_no_context_takeover: false,
      client_no_context_takeover: false,
      ..POLICY
    };
    assert_eq!(
      response("permessage-deflate", &policy).as_deref(),
      Some("permessage-deflate")
    );
    let (agreed, _) = negotiate("permessage-deflate; server_no_context_takeover", &policy)
      .unwrap()
      .unwrap();
    assert!(agreed.server_no_context_takeover);
  }

  #[test]
  fn the_first_acceptable_offer_wins() {
    let (agreed, _) = negotiate(
      "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=10, permessage-deflate",
      &POLICY,
    )
    .unwrap()
    .unwrap();
    assert_eq!(agreed.server_window_bits, 10);
  }

  #[test]
  fn other_extensions_are_ignored() {
    assert_eq!(negotiate("x-webkit-deflate-frame", &POLICY), Ok(None));
    assert!(response("foo; bar=1, permessage-deflate", &POLICY).is_some());
  }

  #[test]
  fn quoted_values_are_tokens() {
    let (agreed, _) = negotiate("permessage-deflate; client_max_window_bits=\"10\"", &POLICY)
      .unwrap()
      .unwrap();
    assert_eq!(agreed.client_window_bits, 10);
  }

  #[test]
  fn malformed_headers_and_invalid_parameters_refuse_the_handshake() {
    for header in [
      "",
      "permessage-deflate;",
      "permessage-deflate; =1",
      "permessage-deflate, ,",
      "permessage-deflate; server_max_window_bits",
      "permessage-deflate; server_max_window_bits=16",
      "permessage-deflate; client_max_window_bits=7",
      "permessage-deflate; server_no_context_takeover=1",
      "permessage-deflate; unknown",
      "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
      "permessage-deflate; client_max_window_bits=\"1 0\"",
      "permessage-deflate; server_max_window_bits=\"10",
      "permessage-deflate @",
    ] {
      assert_eq!(negotiate(header, &POLICY), Err(Malformed), "{header:?}");
    }
  }
}
