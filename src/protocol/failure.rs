//! What ends a connection abnormally: the close code sent to the peer and the stable error code
//! JavaScript sees (`WS_ERR_*`, the codes `ws` uses, so handlers written for `ws` keep working).

use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};

/// The stable `err.code` of an `error` event: `ws`'s codes. JavaScript receives the index and
/// reads the name from the table `ErrorCode::ALL` (exported to it by the binding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
  Backpressure,
  UnsupportedMessageLength,
  InvalidUtf8,
  ExpectedMask,
  UnexpectedRsv1,
  ExpectedFin,
  InvalidControlPayloadLength,
  InvalidCloseCode,
  InvalidOpcode,
  Protocol,
  Internal,
}

impl ErrorCode {
  /// Every code, in index order.
  pub const ALL: [ErrorCode; 11] = [
    ErrorCode::Backpressure,
    ErrorCode::UnsupportedMessageLength,
    ErrorCode::InvalidUtf8,
    ErrorCode::ExpectedMask,
    ErrorCode::UnexpectedRsv1,
    ErrorCode::ExpectedFin,
    ErrorCode::InvalidControlPayloadLength,
    ErrorCode::InvalidCloseCode,
    ErrorCode::InvalidOpcode,
    ErrorCode::Protocol,
    ErrorCode::Internal,
  ];

  pub fn as_str(self) -> &'static str {
    match self {
      ErrorCode::Backpressure => "WS_ERR_BACKPRESSURE",
      ErrorCode::UnsupportedMessageLength => "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
      ErrorCode::InvalidUtf8 => "WS_ERR_INVALID_UTF8",
      ErrorCode::ExpectedMask => "WS_ERR_EXPECTED_MASK",
      ErrorCode::UnexpectedRsv1 => "WS_ERR_UNEXPECTED_RSV_1",
      ErrorCode::ExpectedFin => "WS_ERR_EXPECTED_FIN",
      ErrorCode::InvalidControlPayloadLength => "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
      ErrorCode::InvalidCloseCode => "WS_ERR_INVALID_CLOSE_CODE",
      ErrorCode::InvalidOpcode => "WS_ERR_INVALID_OPCODE",
      ErrorCode::Protocol => "WS_ERR_PROTOCOL",
      ErrorCode::Internal => "WS_ERR_INTERNAL",
    }
  }
}

/// A reason to fail the WebSocket connection (RFC 6455 §7.1.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
  /// The close code sent to the peer and reported by the `close` event.
  pub close_code: u16,
  /// The `err.code` of the `error` event; None when the application asked for it.
  pub code: Option<ErrorCode>,
  /// A sentence for `err.message` and the close frame's reason.
  pub message: String,
}

impl Failure {
  pub fn new(close_code: u16, code: ErrorCode, message: impl Into<String>) -> Self {
    Self {
      close_code,
      code: Some(code),
      message: message.into(),
    }
  }

  /// The application dropped the connection with this close code: no `error` event.
  pub fn dropped(close_code: u16, reason: String) -> Self {
    Self {
      close_code,
      code: None,
      message: reason,
    }
  }

  /// The outbound queue stayed past `maxBackpressure` and the socket took no byte for
  /// `sendTimeout`: the peer is not reading.
  pub fn backpressure() -> Self {
    Self::new(
      1008,
      ErrorCode::Backpressure,
      "peer stopped reading: outbound buffer above maxBackpressure for sendTimeout",
    )
  }
}

/// How a read error ends the connection.
pub enum ReadEnd {
  /// The transport is gone (reset, EOF mid-frame): no close frame can be sent; 1006.
  Lost,
  /// The peer broke the protocol or a limit: send it this close code, then close.
  Fail(Failure),
}

/// Maps a tungstenite read error to how the connection ends.
pub fn classify(err: &WsError) -> ReadEnd {
  use ProtocolError as P;
  let fail = |close, code, msg: String| ReadEnd::Fail(Failure::new(close, code, msg));
  match err {
    WsError::ConnectionClosed | WsError::AlreadyClosed | WsError::Io(_) => ReadEnd::Lost,
    WsError::Protocol(P::ResetWithoutClosingHandshake) => ReadEnd::Lost,
    WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => fail(
      1009,
      ErrorCode::UnsupportedMessageLength,
      format!("message of {size} bytes exceeds the limit of {max_size}"),
    ),
    WsError::Capacity(e) => fail(1009, ErrorCode::UnsupportedMessageLength, e.to_string()),
    WsError::Utf8(_) => fail(
      1007,
      ErrorCode::InvalidUtf8,
      "invalid UTF-8 sequence".to_string(),
    ),
    WsError::Protocol(p) => {
      let code = match p {
        P::UnmaskedFrameFromClient => ErrorCode::ExpectedMask,
        P::NonZeroReservedBits => ErrorCode::UnexpectedRsv1,
        P::FragmentedControlFrame => ErrorCode::ExpectedFin,
        P::ControlFrameTooBig => ErrorCode::InvalidControlPayloadLength,
        P::InvalidCloseSequence => ErrorCode::InvalidCloseCode,
        P::UnknownControlFrameType(_) | P::UnknownDataFrameType(_) | P::InvalidOpcode(_) => {
          ErrorCode::InvalidOpcode
        }
        P::UnexpectedContinueFrame | P::ExpectedFragment(_) => ErrorCode::InvalidOpcode,
        _ => ErrorCode::Protocol,
      };
      fail(1002, code, p.to_string())
    }
    other => fail(1011, ErrorCode::Internal, other.to_string()),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn failure(err: WsError) -> Failure {
    match classify(&err) {
      ReadEnd::Fail(f) => f,
      ReadEnd::Lost => panic!("expected a failure for {err}"),
    }
  }

  #[test]
  fn limits_protocol_and_utf8_map_to_their_rfc_codes() {
    let too_long = WsError::Capacity(CapacityError::MessageTooLong {
      size: 10,
      max_size: 5,
    });
    assert_eq!(failure(too_long).close_code, 1009);
    assert_eq!(failure(WsError::Utf8("x".into())).close_code, 1007);
    let unmasked = failure(WsError::Protocol(ProtocolError::UnmaskedFrameFromClient));
    assert_eq!(
      (unmasked.close_code, unmasked.code),
      (1002, Some(ErrorCode::ExpectedMask))
    );
  }

  #[test]
  fn the_code_table_is_in_index_order() {
    for (i, code) in ErrorCode::ALL.iter().enumerate() {
      assert_eq!(*code as usize, i, "{}", code.as_str());
    }
  }

  #[test]
  fn a_lost_transport_sends_no_close_frame() {
    let io = WsError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
    assert!(matches!(classify(&io), ReadEnd::Lost));
  }
}
