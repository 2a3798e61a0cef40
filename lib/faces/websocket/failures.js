'use strict';

// The description the package gives in 'close' when it fails a connection: the engine reports
// the same failures with ws-style codes, and these are the package's own sentences for them.

const { CLOSE_DESCRIPTIONS, CLOSE_REASONS } = require('./constants');

const { CLOSE_REASON_NOT_PROVIDED, CLOSE_REASON_PROTOCOL_ERROR } = CLOSE_REASONS;

const BY_CODE = {
  WS_ERR_UNEXPECTED_RSV_1: 'Unsupported usage of rsv bits without negotiated extension.',
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 'Illegal control frame longer than 125 bytes.',
  WS_ERR_EXPECTED_FIN: 'Control frames must not be fragmented.',
  WS_ERR_INVALID_UTF8: 'Invalid UTF-8 Data Received',
};

function hex(n) {
  return '0x' + Number(n).toString(16);
}

/** The package's sentence for an opcode failure, from the engine's "invalid opcode N [inside ...]". */
function opcodeDescription(message) {
  const [, opcode, inside] = /invalid opcode (\d+)( inside)?/.exec(message) ?? [];
  if (opcode === undefined) return message;
  if (inside) return `Illegal frame opcode ${hex(opcode)} received in middle of fragmented message.`;
  return opcode === '0' ? 'Unexpected Continuation Frame' : `Unrecognized Opcode: ${hex(opcode)}`;
}

/**
 * The code and description the package reports in 'close' for an engine failure `err`
 * (`err.code` WS_ERR_*): the close code sent, except for a one-byte close frame, which the
 * package answers with 1002 but reports as a close without a code.
 */
function failureClose(err) {
  if (err.code === 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH' && err.message.endsWith('invalid payload length 1')) {
    return [CLOSE_REASON_NOT_PROVIDED, CLOSE_DESCRIPTIONS[CLOSE_REASON_NOT_PROVIDED]];
  }
  // The package reads 32 bits of a 64-bit length and refuses a frame whose high half is set.
  if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && frameLength(err) >= 2 ** 32) {
    return [CLOSE_REASON_PROTOCOL_ERROR, 'Unsupported 64-bit length frame received'];
  }
  return [err.closeCode, failureDescription(err)];
}

/** The length the engine's "Frame of N bytes" sentence names, or undefined. */
function frameLength(err) {
  const frame = /^Frame of (\d+) bytes/.exec(err.message);
  return frame ? Number(frame[1]) : undefined;
}

/** The close description for an engine failure `err` (`err.code` WS_ERR_*). */
function failureDescription(err) {
  if (BY_CODE[err.code]) return BY_CODE[err.code];
  if (err.code === 'WS_ERR_INVALID_OPCODE') return opcodeDescription(err.message);
  if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
    const length = frameLength(err);
    return length === undefined ? 'Maximum message size exceeded.' : `Frame size of ${length} bytes exceeds maximum accepted frame size`;
  }
  return err.message;
}

module.exports = { failureClose };
