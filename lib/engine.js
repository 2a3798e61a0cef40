'use strict';

// The JavaScript half of one engine: decodes event batches from Rust and routes them to the
// connection objects of whichever face owns them, corks sends, and holds Node's event loop open
// while connections are live. Every face (native, websocket, ws) sits on this.

const native = require('./native');
const { handOff } = require('./handshake');
const { protocolError } = require('./errors');

/** Event kinds (src/events.rs `EventKind`). */
const TEXT = 1;
const BINARY = 2;
const PING = 3;
const PONG = 4;
const DRAIN = 5;
const CLOSE = 6;
const ERROR = 7;

/**
 * A connection object receives its events through these methods:
 * `_onMessage(data, isBinary)`, `_onPing(buf)`, `_onPong(buf)`, `_onDrain()`, `_onError(err)`,
 * `_onClose(code, reason)`.
 */
class Engine {
  /** @param {object} limits engine limits (see lib/options.js) */
  constructor(limits) {
    this._native = new native.NativeServer(limits, (meta, text, bin) => this._dispatch(meta, text, bin));
    this._targets = new Map();
    this._handles = new Map();
    this._idleWaiters = [];
    this._flushPending = false;
    this._flush = () => {
      this._flushPending = false;
      this._native.flush();
    };
  }

  /** Live connections. */
  get size() {
    return this._targets.size;
  }

  /**
   * Hands an upgraded socket to Rust, which writes the 101. Returns the native handle, or null
   * when the socket has no file descriptor.
   */
  accept(socket, head, key, protocol, headers) {
    return handOff(this._native, socket, head, key, protocol, headers);
  }

  /** Routes the events of `handle` to `target`. */
  register(handle, target) {
    this._targets.set(handle.id, target);
    this._handles.set(handle.id, handle);
    if (this._targets.size === 1) this._native.keepAlive(true);
  }

  /** Wakes the writers of everything sent in this tick, once, after the current job. */
  scheduleFlush() {
    if (this._flushPending) return;
    this._flushPending = true;
    queueMicrotask(this._flush);
  }

  /**
   * Sends one message to every live connection but `exceptId`, framed once in Rust.
   * @returns {number} how many connections it was queued on
   */
  broadcast(data, isBinary, exceptId) {
    const count = isBinary ? this._native.broadcastBinary(data, exceptId) : this._native.broadcastText(data, exceptId);
    this.scheduleFlush();
    return count;
  }

  /**
   * Sends one message to every subscriber of `topic` but `exceptId`, framed once in Rust.
   * @returns {number} how many connections it was queued on
   */
  publish(topic, data, isBinary, exceptId) {
    const count = isBinary
      ? this._native.publishBinary(topic, data, exceptId)
      : this._native.publishText(topic, data, exceptId);
    this.scheduleFlush();
    return count;
  }

  /** How many connections subscribe to `topic`. */
  subscribers(topic) {
    return this._native.subscribers(topic);
  }

  /** How many topics have at least one subscriber. */
  get topicCount() {
    return this._native.topicCount;
  }

  /** Resolves once every connection has closed. */
  whenIdle() {
    if (this._targets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this._idleWaiters.push(resolve));
  }

  /** Stops event delivery for good; call once no connection is left. */
  release() {
    this._native.release();
  }

  _dispatch(meta, text, bin) {
    for (let i = 0; i < meta.length; i += 4) {
      const head = meta[i];
      const id = meta[i + 1];
      const target = this._targets.get(id);
      if (target === undefined) continue;
      const start = meta[i + 2];
      const end = meta[i + 3];
      try {
        switch (head & 0xffff) {
          case TEXT:
            target._onMessage(text.slice(start, end), false);
            break;
          case BINARY:
            target._onMessage(bin.subarray(start, end), true);
            break;
          case PING:
            target._onPing(bin.subarray(start, end));
            break;
          case PONG:
            target._onPong(bin.subarray(start, end));
            break;
          case DRAIN:
            target._onDrain();
            break;
          case ERROR:
            // Every earlier event of this connection has been handled and what it sent is
            // queued: now the engine may send the close frame.
            this._handles.get(id).drop(head >>> 16, '');
            target._onError(protocolError(text.slice(start, end), head >>> 16));
            break;
          case CLOSE:
            this._closed(id);
            target._onClose(head >>> 16, text.slice(start, end));
            break;
        }
      } catch (err) {
        // One handler's exception must not swallow the rest of the batch; it still reaches
        // 'uncaughtException' as any EventEmitter listener's would.
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }

  _closed(id) {
    this._targets.delete(id);
    this._handles.delete(id);
    if (this._targets.size > 0) return;
    this._native.keepAlive(false);
    for (const resolve of this._idleWaiters.splice(0)) resolve();
  }
}

module.exports = { Engine };
