'use strict';

// The description the package gives in 'close' when it fails a connection: the engine reports
// the same failures with ws-style codes, and these are the package's own sentences for them.

const OPCODES = { TEXT: 1, BINARY: 2, CONTINUE: 0 };

const BY_CODE = {
  WS_ERR_UNEXPECTED_RSV_1: 'Unsupported usage of rsv bits without negotiated extension.',
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 'Illegal control frame longer than 125 bytes.',
  WS_ERR_EXPECTED_FIN: 'Control frames must not be fragmented.',
  WS_ERR_INVALID_UTF8: 'Invalid UTF-8 Data Received',
};

function hex(n) {
  return '0x' + Number(n).toString(16);
}

/** The package's sentence for an opcode failure, from the engine's message. */
function opcodeDescription(message) {
  if (message.startsWith('Continue frame')) return 'Unexpected Continuation Frame';
  const fragment = /received: (\w+)/.exec(message);
  if (fragment) {
    const opcode = OPCODES[fragment[1]] ?? Number(fragment[1].replace(/\D/g, ''));
    return `Illegal frame opcode ${hex(opcode)} received in middle of fragmented message.`;
  }
  const unknown = /(\d+)\s*$/.exec(message);
  return unknown ? `Unrecognized Opcode: ${hex(unknown[1])}` : message;
}

/**
 * The close description for an engine failure `err` (`err.code` WS_ERR_*). A size failure is a
 * frame one when the limit hit is `maxFrame` (when both limits are equal a single oversized
 * frame is the likelier cause: clients that do not fragment are the common ones).
 */
function failureDescription(err, limits) {
  if (BY_CODE[err.code]) return BY_CODE[err.code];
  if (err.code === 'WS_ERR_INVALID_OPCODE') return opcodeDescription(err.message);
  if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
    const size = /(\d+) bytes exceeds the limit of (\d+)/.exec(err.message);
    if (size && Number(size[2]) === limits.maxFrame) {
      return `Frame size of ${size[1]} bytes exceeds maximum accepted frame size`;
    }
    return 'Maximum message size exceeded.';
  }
  return err.message;
}

module.exports = { failureDescription };
