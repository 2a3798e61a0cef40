'use strict';

// ws's error shapes for what the engine reports: the same class and message ws's receiver
// builds for each `WS_ERR_*` code, so handlers that log or branch on them keep working.

const FRAME = 'Invalid WebSocket frame: ';

/** code → [class, message]; a null message keeps the engine's detail after ws's prefix. */
const SHAPES = {
  WS_ERR_EXPECTED_MASK: [RangeError, `${FRAME}MASK must be set`],
  WS_ERR_UNEXPECTED_RSV_1: [RangeError, `${FRAME}RSV1 must be clear`],
  WS_ERR_UNEXPECTED_RSV_2_3: [RangeError, `${FRAME}RSV2 and RSV3 must be clear`],
  WS_ERR_EXPECTED_FIN: [RangeError, `${FRAME}FIN must be set`],
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: [RangeError, 'Max payload size exceeded'],
  WS_ERR_INVALID_UTF8: [Error, `${FRAME}invalid UTF-8 sequence`],
  WS_ERR_INVALID_OPCODE: [RangeError, null],
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: [RangeError, null],
  WS_ERR_INVALID_CLOSE_CODE: [RangeError, null],
};

const STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];

/** The engine's error (code, closeCode, message) in ws's shape; codes ws lacks keep theirs. */
function toWsError(err) {
  const shape = SHAPES[err.code];
  if (shape === undefined) return err;
  const [Ctor, message] = shape;
  const out = new Ctor(message === null ? `${FRAME}${err.message}` : message);
  out.code = err.code;
  out.closeCode = err.closeCode;
  return out;
}

/** The error ws gives a send/ping/pong callback when the socket is not open. */
function notOpenError(readyState) {
  return new Error(`WebSocket is not open: readyState ${readyState} (${STATES[readyState]})`);
}

/**
 * The error a send/ping/pong callback gets in ws when its frame was still queued as the socket
 * went (terminate, a reset): Node's, from the destroyed stream's pending writes.
 */
function destroyedError() {
  const err = new Error('Cannot call write after a stream was destroyed');
  err.code = 'ERR_STREAM_DESTROYED';
  return err;
}

module.exports = { toWsError, notOpenError, destroyedError };
