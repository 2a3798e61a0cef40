'use strict';

// The native face's connection as the application sees it: an EventEmitter over an engine
// connection (core/connection.js).

const EventEmitter = require('events');
const { compactListeners } = require('../../core/listeners');
const native = require('../../core/native');
const { argTypeError, rangeError } = require('../../core/errors');
const { toBuffer } = require('../../core/payload');
const { SEND } = require('../../core/protocol');
const { READY_STATE, defineReadyStates } = require('../../core/ready-state');
const { definePausing, initPausing } = require('../../core/pausing');

const { OPEN, CLOSING, CLOSED } = READY_STATE;

const EMPTY = Buffer.alloc(0);

function checkTopic(topic) {
  if (typeof topic !== 'string') throw argTypeError('topic', 'a string', topic);
  return topic;
}

/** Validates a close code and reason the way `ws` does; returns the reason as a string. */
function checkClose(code, reason) {
  if (code !== undefined && !(Number.isInteger(code) && native.isValidCloseCode(code))) {
    throw rangeError('The close code', `must be 1000-1003, 1007-1014 or 3000-4999; received ${code}`);
  }
  const text = reason === undefined ? '' : Buffer.isBuffer(reason) ? reason.toString() : String(reason);
  if (Buffer.byteLength(text) > 123) throw rangeError('The close reason', 'must not be longer than 123 bytes');
  return text;
}

class WebSocket extends EventEmitter {
  /**
   * @param {object} server the owning server (it publishes for `publish`)
   * @param {import('../../core/connection').Connection} connection the engine's connection
   * @param {object} info remote address, port and chosen protocol
   */
  constructor(server, connection, info) {
    super();
    compactListeners(this);
    this._server = server;
    this._connection = connection;
    this._closed = false;
    initPausing(this);
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    this.protocol = info.protocol;
  }

  get readyState() {
    if (this._closed) return CLOSED;
    const state = this._connection.readyState;
    return state === CLOSED ? CLOSING : state;
  }

  /** Bytes queued in Rust and not yet written to the socket. */
  get bufferedAmount() {
    return this._closed ? 0 : this._connection.bufferedAmount;
  }

  /** 'permessage-deflate' when the connection compresses, else ''. */
  get extensions() {
    return this._connection.extensions;
  }

  /**
   * Sends a message: a string as text, anything binary (Buffer, TypedArray, DataView,
   * ArrayBuffer) as binary. With permessage-deflate agreed, messages from `threshold` bytes up
   * are compressed unless `options.compress` is false. Returns false when it was not queued (the
   * connection is not open) or when the buffer is above the high-water mark (wait for 'drain').
   * @param {{ compress?: boolean }} [options]
   */
  send(data, options) {
    const compress = options === undefined || options.compress !== false;
    if (typeof data === 'string') return this._connection.sendText(data, compress) === SEND.QUEUED;
    const buf = toBuffer(data);
    if (buf === null) throw argTypeError('data', 'a string, Buffer, TypedArray, DataView or ArrayBuffer', data);
    return this._connection.sendBytes(buf, false, compress) === SEND.QUEUED;
  }

  /** Subscribes to `topic`; returns false when already subscribed or closed. */
  subscribe(topic) {
    return this._connection.subscribe(checkTopic(topic));
  }

  /** Returns false when not subscribed. */
  unsubscribe(topic) {
    return this._connection.unsubscribe(checkTopic(topic));
  }

  isSubscribed(topic) {
    return this._connection.isSubscribed(checkTopic(topic));
  }

  /** The topics this connection subscribes to. */
  get topics() {
    return this._closed ? [] : this._connection.topics;
  }

  /**
   * Sends `data` to every subscriber of `topic` except this connection (which need not be
   * subscribed itself). Returns how many connections it was queued on.
   */
  publish(topic, data) {
    return this._server.publish(topic, data, { except: this });
  }

  /**
   * Sends a ping; the payload (at most 125 bytes) is echoed by the peer's pong. Returns false,
   * sending nothing, once the connection is no longer open: a heartbeat loop over `clients`
   * meets closing connections (they stay there until 'close'), and must not throw for them,
   * as with ws.
   */
  ping(data = EMPTY) {
    return this._control('ping', data);
  }

  pong(data = EMPTY) {
    return this._control('pong', data);
  }

  _control(kind, data) {
    const buf = typeof data === 'string' ? Buffer.from(data) : toBuffer(data);
    if (buf === null) throw argTypeError('data', 'a string or binary payload', data);
    if (buf.length > 125) throw rangeError(`The ${kind} payload`, 'must not be longer than 125 bytes');
    if (this.readyState !== OPEN) return false;
    this._connection.control(kind, buf);
    return true;
  }

  /**
   * Starts the closing handshake; 'close' follows when the peer answers or `closeTimeout`
   * passes.
   * @param {number} [code=1000]
   * @param {string} [reason='']
   */
  close(code = 1000, reason) {
    const text = checkClose(code, reason);
    if (this.readyState !== OPEN) return;
    this._connection.close(code, text);
  }

  /** Destroys the connection at once; 'close' follows with 1006. */
  terminate() {
    if (!this._closed) this._connection.terminate();
  }

  _emitClosed(code, reason) {
    this._closed = true;
    // What the client sent before it left is delivered first, paused or not.
    this._release();
    this.emit('close', code, reason);
  }
}

defineReadyStates(WebSocket);
definePausing(WebSocket);

module.exports = { WebSocket, checkClose, checkTopic };
