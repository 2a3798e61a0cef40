'use strict';

// One engine connection, as every face holds it: the native handle, the per-message calls, and
// the duty to flush what a job sent. A face's socket object (native WebSocket, ws's WsSocket,
// websocket's WebSocketConnection) wraps one of these and adds its package's API.

const { SEND } = require('./protocol');
const { READY_STATE } = require('./ready-state');

const { OPEN, CLOSING, CLOSED } = READY_STATE;

class Connection {
  /**
   * @param {import('./engine').Engine} engine the engine that accepted it
   * @param {object} handle the engine's NativeSocket
   */
  constructor(engine, handle) {
    this._engine = engine;
    this._handle = handle;
    // The per-message calls take this type-tagged External, not the class instance.
    this._conn = handle.connection;
    // What JavaScript knows of the connection's state, from its own calls and the engine's
    // events, as ws's readyState is: reading it costs no crossing (a chat loop reads it once per
    // delivery). A send the engine refuses meanwhile says so in its status.
    this._state = OPEN;
    this._id = handle.id;
  }

  /** The engine's id of the connection (broadcast and publish take it as `except`). */
  get id() {
    return this._id;
  }

  /** OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState() {
    return this._state;
  }

  _leaveOpen() {
    if (this._state === OPEN) this._state = CLOSING;
  }

  /** The engine reported the connection closed (its CLOSE event). */
  closed() {
    this._state = CLOSED;
  }

  /** The subprotocol the Rust-first intake answered with ('' for none). */
  get protocol() {
    return this._handle.protocol ?? '';
  }

  /** 'permessage-deflate' when the connection agreed it, else '' (`ws`'s `extensions`). */
  get extensions() {
    return this._handle.compresses ? 'permessage-deflate' : '';
  }

  /** Bytes queued in Rust and not yet written to the socket. */
  get bufferedAmount() {
    this._engine.sendPending();
    return this._handle.bufferedAmount;
  }

  /**
   * Queues a text message, written after the current job with everything else it sends;
   * `compress: false` keeps it uncompressed where permessage-deflate was agreed.
   * @returns {number} a `SEND` status
   */
  sendText(text, compress = true) {
    return this._engine.sendText(this._conn, text, compress);
  }

  /**
   * Queues a text message whose status the caller does not need beyond "not open": a send
   * loop's text may then go in one batch with the same text to other connections (see
   * Engine._queueShared). Returns NOT_OPEN when JavaScript knows the connection is not open.
   */
  sendTextInBatch(text, compress = true) {
    if (this._state !== OPEN) return SEND.NOT_OPEN;
    return this._engine.sendText(this._conn, text, compress, this._id);
  }

  /**
   * Queues `bytes` as a binary message, or (`asText`) as a text message byte for byte.
   * @returns {number} a `SEND` status
   */
  sendBytes(bytes, asText = false, compress = true) {
    return this._engine.sendBytes(this._conn, bytes, asText, compress);
  }

  /** As `sendTextInBatch`, for bytes. */
  sendBytesInBatch(bytes, asText = false, compress = true) {
    if (this._state !== OPEN) return SEND.NOT_OPEN;
    return this._engine.sendBytes(this._conn, bytes, asText, compress, this._id);
  }

  /** Queues a ping or a pong (`kind`) of at most 125 bytes, flushed with this job's sends. */
  control(kind, payload) {
    this._engine.sendPending();
    const status = this._handle[kind](payload);
    this._engine.scheduleFlush();
    return status;
  }

  /** Starts the closing handshake (no code: an empty close frame). */
  close(code, reason) {
    this._engine.sendPending();
    this._leaveOpen();
    if (code === undefined) this._handle.close();
    else this._handle.close(code, reason);
    this._engine.scheduleFlush();
  }

  /** Sends a close frame with `code` and destroys the socket without waiting for the peer. */
  drop(code, reason) {
    this._engine.sendPending();
    this._leaveOpen();
    this._handle.drop(code, reason);
    this._engine.scheduleFlush();
  }

  /** Destroys the socket now; 'close' follows with 1006. */
  terminate() {
    this._leaveOpen();
    this._handle.terminate();
  }

  pause() {
    this._handle.pause();
  }

  resume() {
    this._handle.resume();
  }

  get isPaused() {
    return this._handle.isPaused;
  }

  /**
   * JavaScript has handled every event up to a PEER_CLOSE or ERROR one: the engine may send its
   * close frame, after what the handlers sent.
   */
  caughtUp() {
    this._engine.sendPending();
    this._leaveOpen();
    this._handle.caughtUp();
  }

  /** Bridged connections: `socket.write` finished `n` bytes of a BRIDGE_WRITE event. */
  written(n) {
    this._handle.written(n);
  }

  /** Asks for a DRAIN event once everything queued so far is written. */
  notifyWhenWritten() {
    this._engine.sendPending();
    this._handle.notifyWhenWritten();
  }

  subscribe(topic) {
    return this._handle.subscribe(topic);
  }

  unsubscribe(topic) {
    return this._handle.unsubscribe(topic);
  }

  isSubscribed(topic) {
    return this._handle.isSubscribed(topic);
  }

  get topics() {
    return this._handle.topics;
  }
}

module.exports = { Connection, SEND };
