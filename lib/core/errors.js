'use strict';

// Errors with stable codes. Misuse by the application throws; a client's bad behaviour is
// reported through 'error' and 'close' events, never thrown.

function argTypeError(name, expected, value) {
  const err = new TypeError(`The "${name}" argument must be ${expected}; received ${describe(value)}`);
  err.code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

function optionTypeError(name, expected, value) {
  const err = new TypeError(`The "${name}" option must be ${expected}; received ${describe(value)}`);
  err.code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

function unknownOptionError(name) {
  const err = new TypeError(`Unknown option "${name}"`);
  err.code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

function rangeError(what, message) {
  const err = new RangeError(`${what} ${message}`);
  err.code = 'ERR_OUT_OF_RANGE';
  return err;
}

/** An option out of its range, in the engine's own sentence (which names the option). */
function outOfRange(message) {
  const err = new RangeError(message);
  err.code = 'ERR_OUT_OF_RANGE';
  return err;
}

function stateError(message) {
  const err = new Error(message);
  err.code = 'ERR_WS_NOT_OPEN';
  return err;
}

/** The 'error' event of a connection the engine failed: `code` is ws's `WS_ERR_*`. */
function protocolError(code, message, closeCode) {
  const err = new Error(message);
  err.code = code;
  err.closeCode = closeCode;
  return err;
}

function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'function') return 'function';
  if (typeof value === 'object') return `an instance of ${value.constructor ? value.constructor.name : 'Object'}`;
  return `type ${typeof value} (${String(value).slice(0, 40)})`;
}

module.exports = { argTypeError, optionTypeError, unknownOptionError, rangeError, outOfRange, stateError, protocolError };
