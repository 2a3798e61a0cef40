'use strict';

// The WebSocket API's readyState values, and the static and instance constants every face's
// connection class carries (`ws.OPEN`, `WebSocket.CLOSED`, ...).

const READY_STATE = Object.freeze({ CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });

/** Defines CONNECTING, OPEN, CLOSING and CLOSED on `cls` and its prototype. */
function defineReadyStates(cls) {
  for (const [name, value] of Object.entries(READY_STATE)) {
    Object.defineProperty(cls, name, { value, enumerable: true });
    Object.defineProperty(cls.prototype, name, { value, enumerable: true });
  }
}

module.exports = { READY_STATE, defineReadyStates };
