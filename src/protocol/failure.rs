//! What ends a connection abnormally: the close code sent to the peer and the stable error code
//! JavaScript sees (`WS_ERR_*`, the codes `ws` uses, so handlers written for `ws` keep working).

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
  UnexpectedRsv23,
  ExpectedFin,
  InvalidControlPayloadLength,
  InvalidCloseCode,
  InvalidOpcode,
  CompressedData,
}

impl ErrorCode {
  /// Every code, in index order.
  pub const ALL: [ErrorCode; 11] = [
    ErrorCode::Backpressure,
    ErrorCode::UnsupportedMessageLength,
    ErrorCode::InvalidUtf8,
    ErrorCode::ExpectedMask,
    ErrorCode::UnexpectedRsv1,
    ErrorCode::UnexpectedRsv23,
    ErrorCode::ExpectedFin,
    ErrorCode::InvalidControlPayloadLength,
    ErrorCode::InvalidCloseCode,
    ErrorCode::InvalidOpcode,
    ErrorCode::CompressedData,
  ];

  pub fn as_str(self) -> &'static str {
    match self {
      ErrorCode::Backpressure => "WS_ERR_BACKPRESSURE",
      ErrorCode::UnsupportedMessageLength => "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
      ErrorCode::InvalidUtf8 => "WS_ERR_INVALID_UTF8",
      ErrorCode::ExpectedMask => "WS_ERR_EXPECTED_MASK",
      ErrorCode::UnexpectedRsv1 => "WS_ERR_UNEXPECTED_RSV_1",
      ErrorCode::UnexpectedRsv23 => "WS_ERR_UNEXPECTED_RSV_2_3",
      ErrorCode::ExpectedFin => "WS_ERR_EXPECTED_FIN",
      ErrorCode::InvalidControlPayloadLength => "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
      ErrorCode::InvalidCloseCode => "WS_ERR_INVALID_CLOSE_CODE",
      ErrorCode::InvalidOpcode => "WS_ERR_INVALID_OPCODE",
      // What `ws` reports: zlib's own code for data it cannot inflate.
      ErrorCode::CompressedData => "Z_DATA_ERROR",
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

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_code_table_is_in_index_order() {
    for (i, code) in ErrorCode::ALL.iter().enumerate() {
      assert_eq!(*code as usize, i, "{}", code.as_str());
    }
  }
}
