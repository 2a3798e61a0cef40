'use strict';

// pause() and resume() for a face's connection, as ws's WebSocket has them: the engine stops
// reading the client, and the events that reach JavaScript after the pause (the engine may have
// read one more batch before it saw it: messages, pings, pongs, a protocol error) wait until
// resume(), in order, as ws delivers nothing while paused (nor does the `websocket` package).

// The empty queue every idle connection shares (a queue is made on its first entry): two
// arrays fewer per connection.
const NONE = Object.freeze([]);

const holding = {
  /** Stops reading from the client until `_resumeReading()`. */
  _pauseReading() {
    if (this._closed) return;
    this._paused = true;
    this._connection.pause();
  },

  _resumeReading() {
    if (this._closed) return;
    this._paused = false;
    this._connection.resume();
    // Asynchronously, as ws's socket emits after resume(); later events queue behind these.
    if (this._held.length > 0) process.nextTick(() => this._release());
  },

  /**
   * Delivers held events, in order, until paused again; all of them once closed. A listener's
   * exception does not stop the rest (it reaches 'uncaughtException', as from the engine's own
   * dispatch).
   */
  _release() {
    while (this._held.length > 0 && (!this._paused || this._closed)) {
      const deliver = this._held.shift();
      try {
        deliver();
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
  },

  /**
   * Forgets the events held: the connection closed while paused, for a face whose package reads
   * nothing more then.
   */
  _dropHeld() {
    this._held = NONE;
  },

  /** Holds an inbound event while paused (or while held ones wait); true when held. */
  _hold(deliver) {
    if (!this._paused && this._held.length === 0) return false;
    if (this._held === NONE) this._held = [];
    this._held.push(deliver);
    return true;
  },
};

/**
 * Gives `cls` the hold its inbound events go through and `_pauseReading()` /
 * `_resumeReading()`, for a face whose own pause() and resume() do more (the `websocket`
 * face's events). Its instances have `_connection` (core/connection.js) and `_closed`, and
 * call `initPausing(this)` in their constructor.
 */
function defineHolding(cls) {
  for (const [name, fn] of Object.entries(holding)) {
    Object.defineProperty(cls.prototype, name, { value: fn, writable: true, configurable: true });
  }
}

/** `defineHolding`, and ws's pause(), resume() and isPaused. */
function definePausing(cls) {
  defineHolding(cls);
  for (const [name, fn] of [
    ['pause', holding._pauseReading],
    ['resume', holding._resumeReading],
  ]) {
    Object.defineProperty(cls.prototype, name, { value: fn, writable: true, configurable: true });
  }
  Object.defineProperty(cls.prototype, 'isPaused', {
    get() {
      return this._paused;
    },
    configurable: true,
  });
}

/** The fields `definePausing`'s methods use, on a new connection object. */
function initPausing(socket) {
  socket._paused = false;
  socket._held = NONE;
}

module.exports = { defineHolding, definePausing, initPausing };
