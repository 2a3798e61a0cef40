'use strict';

// One engine connection, as every face holds it: the native handle, the per-message calls, and
// the duty to flush what a job sent. A face's socket object (native WebSocket, ws's WsSocket,
// websocket's WebSocketConnection) wraps one of these and adds its package's API.

const { SEND } = require('./protocol');
const { READY_STATE } = require('./ready-state');
const { forwardEnds, handOver, release } = require('./node-side');

const { OPEN, CLOSING, CLOSED } = READY_STATE;

class Connection {
  /**
   * @param {import('./engine').Engine} engine the engine that accepted it
   * @param {{ connection: object, id: number, protocol: string | null }} accepted what the
   *   engine's accept call answered: the handle every call about the connection takes (a
   *   type-tagged External: no object of a class per connection), its id, and the subprotocol
   *   the Rust-first intake answered with
   * @param {import('net').Socket | import('net').Server | null} nodeSide what Node keeps of it
   *   (core/node-side.js): the socket it came on, or the server that counts it
   */
  constructor(engine, accepted, nodeSide) {
    this._engine = engine;
    this._nodeSide = nodeSide;
    this._conn = accepted.connection;
    // What JavaScript knows of the connection's state, from its own calls and the engine's
    // events, as ws's readyState is: reading it costs no crossing (a chat loop reads it once per
    // delivery). A send the engine refuses meanwhile says so in its status.
    this._state = OPEN;
    this._id = accepted.id;
    this._protocol = accepted.protocol ?? '';
    /** The face's object its events go to (see Engine.register). */
    this._target = null;
    /** Send callbacks waiting for their frames: flat pairs of (frames-queued target, done). */
    this._waiting = null;
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

  /**
   * The engine reported the connection closed (its CLOSE event): waiting callbacks learn
   * whether their frames made it out.
   */
  closed() {
    this._state = CLOSED;
    this._runWritten(true);
    const side = this._nodeSide;
    this._nodeSide = null;
    release(side);
  }

  /**
   * Makes `socket`, a stand-in that shows the addresses of a connection that never became a
   * net.Socket (the `req.socket` a face gives), what Node keeps of this connection: it takes
   * over the server's count, ends with the connection, and its destroy() and end() cut it.
   * Returns `socket`.
   */
  keepStandIn(socket) {
    this._nodeSide = handOver(this._nodeSide, socket);
    return forwardEnds(socket, this);
  }

  /** The subprotocol the Rust-first intake answered with ('' for none). */
  get protocol() {
    return this._protocol;
  }

  /** 'permessage-deflate' when the connection agreed it, else '' (`ws`'s `extensions`). */
  get extensions() {
    return this._engine._native.compresses(this._conn) ? 'permessage-deflate' : '';
  }

  /**
   * The connection's addresses as a net.Socket shows them, read from the engine's socket: null
   * once it is closing, for a Unix socket, or for a bridged one (see `bridgedSocket`).
   */
  addresses() {
    return this._engine._native.addresses(this._conn);
  }

  /** The Node socket of a bridged (TLS) connection, which Node keeps; undefined otherwise. */
  bridgedSocket() {
    return this._engine._bridged.get(this._id)?.socket;
  }

  /**
   * Bytes queued in Rust and not yet written to the socket. What this job sent is written
   * first, as `ws` and the package write in `send`: on a link that keeps up, this is 0 right
   * after a send, and a loop that sends while it is 0 keeps sending.
   */
  get bufferedAmount() {
    this._engine.flushNow();
    return this._engine._native.bufferedAmount(this._conn);
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

  /**
   * Hands the job's batched sends (see `sendTextInBatch`) to Rust: a face reads the high-water
   * state after this.
   */
  sendPending() {
    this._engine.sendPending();
  }

  /** Queues a ping or a pong (`kind`) of at most 125 bytes, flushed with this job's sends. */
  control(kind, payload) {
    this._engine.sendPending();
    const status = this._engine._native.ping(this._conn, payload, kind === 'pong');
    this._engine.scheduleFlush();
    return status;
  }

  /** Starts the closing handshake (no code: an empty close frame). */
  close(code, reason) {
    this._engine.sendPending();
    this._leaveOpen();
    if (code === undefined) this._engine._native.close(this._conn);
    else this._engine._native.close(this._conn, code, reason);
    this._engine.scheduleFlush();
  }

  /** Sends a close frame with `code` and destroys the socket without waiting for the peer. */
  drop(code, reason) {
    // What this job sent is written first, as far as the socket takes it now: the `websocket`
    // package's sends are in the kernel before its drop destroys the socket, and the engine
    // drops what is still queued after them.
    this._engine.sendPending();
    this._engine.flushNow();
    this._leaveOpen();
    this._engine._native.drop(this._conn, code, reason);
    this._engine.scheduleFlush();
  }

  /** Destroys the socket now; 'close' follows with 1006. */
  terminate() {
    this._leaveOpen();
    this._engine._native.terminate(this._conn);
  }

  pause() {
    this._engine._native.setPaused(this._conn, true);
  }

  resume() {
    this._engine._native.setPaused(this._conn, false);
  }

  get isPaused() {
    return this._engine._native.isPaused(this._conn);
  }

  /**
   * JavaScript has handled every event up to a PEER_CLOSE or ERROR one: the engine may send its
   * close frame, after what the handlers sent.
   */
  caughtUp() {
    this._engine.sendPending();
    this._leaveOpen();
    this._engine._native.caughtUp(this._conn);
  }

  /**
   * Calls `done(true)` once every frame queued so far on this connection is written to the
   * socket, in order with the other callbacks, or `done(false)` if it closes before. Each
   * callback waits for its own frames only, however busy the connection stays, as a socket
   * write's callback does.
   */
  whenWritten(done) {
    this._engine.sendPending();
    const target = this._engine._native.framesQueued(this._conn);
    (this._waiting ??= []).push(target, done);
    this._engine.watchWritten(this);
  }

  /**
   * Runs the callbacks whose frames are written (all of them, with false for the rest, once
   * `closing`) and asks the engine to report the next; true while some still wait.
   */
  _runWritten(closing = false) {
    const waiting = this._waiting;
    if (waiting === null) return false;
    const written = this._engine._native.framesWritten(this._conn);
    let ready = 0;
    // Wrapping counts, compared as the engine compares them.
    while (ready < waiting.length && ((written - waiting[ready]) | 0) >= 0) ready += 2;
    const done = waiting.splice(0, closing ? waiting.length : ready);
    if (waiting.length === 0) this._waiting = null;
    else this._engine._native.notifyFramesWritten(this._conn, waiting[0]);
    for (let i = 0; i < done.length; i += 2) {
      try {
        done[i + 1](i < ready);
      } catch (err) {
        // One callback's exception must not cost the others theirs; it still reaches
        // 'uncaughtException', as an exception thrown in a socket write's callback does.
        process.nextTick(() => {
          throw err;
        });
      }
    }
    return this._waiting !== null;
  }

  subscribe(topic) {
    return this._engine._native.subscribe(this._conn, topic);
  }

  unsubscribe(topic) {
    return this._engine._native.unsubscribe(this._conn, topic);
  }

  isSubscribed(topic) {
    return this._engine._native.isSubscribed(this._conn, topic);
  }

  get topics() {
    return this._engine._native.topics(this._conn);
  }
}

module.exports = { Connection, SEND };
