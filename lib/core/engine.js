'use strict';

// The JavaScript half of one engine: decodes event batches from Rust and routes them to the
// connection objects of whichever face owns them, corks sends, and holds Node's event loop open
// while connections are live. Every face (native, websocket, ws) sits on this.

const native = require('./native');
const { handOff } = require('./handshake');
const { protocolError, outOfRange } = require('./errors');
const { Connection } = require('./connection');
const { detach, forwardEnds, countIn } = require('./node-side');
const { ENGINE_DEFAULTS } = require('./limits');
const { EVENT, ERROR_CODES, SEND } = require('./protocol');

const {
  TEXT,
  BINARY,
  PING,
  PONG,
  DRAIN,
  CLOSE,
  ERROR,
  BRIDGE_WRITE,
  BRIDGE_END,
  BRIDGE_RESUME,
  REDIS_READY,
  REDIS_ERROR,
  REDIS_RECONNECT,
  PEER_CLOSE,
  WRITTEN,
} = EVENT;

/**
 * A connection object receives its events through these methods:
 * `_onMessage(data, isBinary)`, `_onPing(buf)`, `_onPong(buf)`, `_onDrain()`, `_onError(err)`,
 * `_onClose(code, reason)`; one that sends in batches (Connection.sendTextInBatch) also gets
 * `_onAboveHighWater()` when a batch takes its queue past the high-water mark.
 */
class Engine {
  /**
   * @param {object} limits engine limits (see lib/core/limits.js), and `redis`/`redisPrefix`
   * @param {Function} [onStatus] receives the server-wide events of the scale-out link:
   *   `{ type: 'ready' }`, `{ type: 'error', message }`, `{ type: 'reconnect', attempt, message }`
   */
  constructor(limits, onStatus) {
    // The engine checks the ranges (the faces have checked the types): one definition of each.
    const problem = native.checkLimits(limits);
    if (problem !== null) throw outOfRange(problem);
    this._native = new native.NativeServer(limits, (meta, text, bin) => this._dispatch(meta, text, bin));
    this._noDelay = limits.noDelay !== false;
    this._closeTimeout = limits.closeTimeout ?? ENGINE_DEFAULTS.closeTimeout;
    // Without compression no extension is ever agreed, and offers are not read (as in ws).
    this._compresses = limits.perMessageDeflate !== undefined;
    // A face that wants text as Buffers (ws) gets UTF-8 slices of the batch, not strings.
    this._textAsBuffer = limits.textAsBuffer === true;
    this._onStatus = typeof onStatus === 'function' ? onStatus : null;
    /** Live connections (core/connection.js), by id; each knows its face's object (`_target`). */
    this._connections = new Map();
    /** Bridged connections' Node sockets, by id. */
    this._bridged = new Map();
    /**
     * Connections given a send callback in this job (core/connection.js): the flush may write
     * their frames at once. Older callbacks wait for their WRITTEN event.
     */
    this._writing = new Set();
    this._idleWaiters = [];
    this._flushPending = false;
    // The last text and the last Buffer sent in this job, and their shared messages once sent
    // twice (see sendText, sendBytes).
    this._lastText = undefined;
    this._lastFrame = null;
    // One record, rewritten for each new Buffer: an echo sends a new one every time.
    this._lastBytes = { bytes: null, asText: false, message: null, copy: null };
    // Connections a shared message is queued on, handed to Rust in one call (see queueShared).
    this._batch = null;
    this._flush = () => {
      // Already run for this job by flushNow (a reader of bufferedAmount).
      if (!this._flushPending) return;
      this._flushPending = false;
      this._lastText = undefined;
      this._lastFrame = null;
      this._forgetBytes();
      this.sendPending();
      this._native.flush();
      // What the flush wrote from this thread completes this job's callbacks now; the rest are
      // armed for their WRITTEN event.
      const writing = this._writing;
      if (writing.size > 0) {
        this._writing = new Set();
        for (const connection of writing) connection._runWritten();
      }
    };
  }

  /** Live connections. */
  get size() {
    return this._connections.size;
  }

  /**
   * Hands an upgraded socket to Rust, which writes the 101, and returns its `Connection`. A
   * plain TCP or Unix socket's descriptor moves to Rust; any other stream (TLS, a Duplex with no
   * descriptor, or one the engine could not adopt) stays Node's and is bridged.
   */
  accept(socket, head, key, protocol, headers, extensions) {
    const answer = { key, protocol, headers, extensions };
    const adopted = handOff(this._native, socket, head, answer);
    // A socket Node keeps (the bridge) is the server's as any other; an adopted one stays open,
    // detached, until the connection ends.
    if (adopted.accepted === null) return new Connection(this, this._bridge(socket, adopted.head, answer), null);
    return this._keeping(adopted.accepted, socket);
  }

  /** The connection Rust took (`taken`) that keeps the detached net.Socket it came on. */
  _keeping(taken, socket) {
    const connection = new Connection(this, taken, socket);
    forwardEnds(socket, connection);
    return connection;
  }

  /**
   * The Rust-first intake: gives an arrival's connection `fd` to Rust when `first`, the first
   * bytes its client sent, is a plain upgrade the engine answers itself (`peeked`: they are
   * still in the socket; `accepted`: the listener's family, see core/intake.js). The 101 names
   * the first offered subprotocol, or, given the application's `answer`, `answer.protocol`
   * (none when undefined) and carries `answer.lines`. Returns the `Connection`, or null when the
   * engine does not take it (`first` not consumed).
   */
  acceptHead({ server, nodeSocket, fd, first, peeked, accepted }, answer) {
    let taken = null;
    try {
      taken = this._native.acceptHead(fd, first, peeked, accepted, answer);
    } catch {
      // Out of descriptors, say: Node's path still works.
    }
    if (taken === null) return null;
    // One that came as a net.Socket keeps it, detached; one that never became a socket is
    // counted by its server directly.
    if (nodeSocket === null) return new Connection(this, taken, countIn(server));
    detach(nodeSocket);
    return this._keeping(taken, nodeSocket);
  }

  /**
   * The `Sec-WebSocket-Extensions` value the engine answers a client's header with (null for
   * none: compression off, not offered, or no offer acceptable); undefined when the header must
   * be refused with 400 (malformed, or a permessage-deflate offer with a bad parameter).
   */
  negotiate(header) {
    if (!this._compresses || header === undefined) return null;
    try {
      return this._native.negotiate(header);
    } catch {
      return undefined;
    }
  }

  /**
   * Runs the engine over a socket Node keeps: its data is fed to Rust (pausing the socket when
   * Rust's inbound bound is reached) and Rust's bytes come back as BRIDGE_WRITE events.
   */
  _bridge(socket, head, answer) {
    const accepted = this._native.acceptBridge(head, answer);
    const { bridge } = accepted;
    this._bridged.set(accepted.id, { socket, bridge });
    // Any Duplex will do (ws's handleUpgrade takes one): socket-only calls are optional.
    if (typeof socket.setTimeout === 'function') socket.setTimeout(0);
    // The peer's end is the engine's to answer (what is queued still goes, then ours): Node
    // must not end the socket's writable side at once.
    socket.allowHalfOpen = true;
    if (this._noDelay && typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      if (!this._native.feed(bridge, chunk)) socket.pause();
    });
    const ended = () => this._native.feedEnd(bridge);
    socket.on('end', ended);
    socket.on('close', ended);
    // A TLS socket's error after its handshake (a bad record, say) leaves it open and silent:
    // cut it, so that the engine sees the end (1006), as ws's socketOnError does.
    socket.on('error', () => socket.destroy());
    socket.resume();
    return accepted;
  }

  /** BRIDGE_* events: the engine's side of a bridged socket. */
  _onBridge(kind, id, data) {
    const bridged = this._bridged.get(id);
    if (bridged === undefined) return;
    const { socket, bridge } = bridged;
    if (kind === BRIDGE_WRITE) {
      const written = () => this._native.written(bridge, data.length);
      if (socket.destroyed) written();
      else socket.write(data, written);
    } else if (kind === BRIDGE_END) {
      socket.end();
    } else if (kind === BRIDGE_RESUME) {
      socket.resume();
    }
  }

  /** Runs `connection`'s send callbacks given in this job after its flush (see `_writing`). */
  watchWritten(connection) {
    this._writing.add(connection);
  }

  /** Routes the events of `connection` to `target`. */
  register(connection, target) {
    connection._target = target;
    this._connections.set(connection.id, connection);
    if (this._connections.size === 1) this._native.keepAlive(true);
  }

  /**
   * Queues a text message on `conn` (a handle's `connection`); `compress: false` keeps it
   * uncompressed where permessage-deflate was agreed. The same string sent again in
   * this job (a JavaScript loop sending one message to many clients, as the websocket and ws
   * chat examples do) is framed once and shared, as broadcast does; strings are immutable, so
   * the frame stays right.
   * @returns {number} the engine's send status
   */
  sendText(conn, text, compress = true, id = undefined) {
    let status;
    if (text !== this._lastText) {
      this.sendPending();
      this._lastText = text;
      this._lastFrame = null;
      status = native.sendText(conn, text, compress);
    } else {
      if (this._lastFrame === null) this._lastFrame = native.encodeText(conn, text);
      status = this._queueShared(conn, this._lastFrame, compress, id);
    }
    this.scheduleFlush();
    return status;
  }

  /**
   * Queues a binary message on `conn`, or (`asText`) the bytes as a text message, unchanged.
   * The same Buffer sent again in this job with the same bytes (the ws face's chat loop: ws
   * hands text out as Buffers) is framed once and shared, as sendText does for strings.
   * @returns {number} the engine's send status
   */
  sendBytes(conn, bytes, asText, compress = true, id = undefined) {
    let status;
    const last = this._lastBytes;
    if (bytes !== last.bytes || asText !== last.asText) {
      this.sendPending();
      last.bytes = bytes;
      last.asText = asText;
      last.message = null;
      last.copy = null;
      status = asText ? native.sendTextBytes(conn, bytes, compress) : native.sendBinary(conn, bytes, compress);
    } else {
      // A Buffer can change between sends: the shared message holds for as long as its bytes
      // are the ones it was made from.
      if (last.message === null || !bytes.equals(last.copy)) {
        this.sendPending();
        last.message = native.encodeBytes(conn, bytes, asText);
        last.copy = Buffer.from(bytes);
      }
      status = this._queueShared(conn, last.message, compress, id);
    }
    this.scheduleFlush();
    return status;
  }

  /**
   * Queues a shared message on a connection: at once, or, when the caller gives the
   * connection's `id` (a face whose send ignores the high-water status), in a batch that one
   * call hands to Rust, so a loop over many connections crosses once per message rather than
   * once per connection. Every other outbound call sends the batch first (`sendPending`), so
   * each connection's messages keep their order.
   */
  _queueShared(conn, message, compress, id) {
    if (id === undefined) {
      this.sendPending();
      return native.sendEncoded(conn, message, compress);
    }
    const batch = this._batch;
    if (batch !== null && (batch.message !== message || batch.compress !== compress)) this.sendPending();
    if (this._batch === null) this._batch = { message, compress, ids: [] };
    this._batch.ids.push(id);
    return SEND.QUEUED;
  }

  /**
   * Hands the batch of shared sends to Rust; called before any other outbound operation. The
   * connections it took past the high-water mark learn it, as a send made on its own returns it.
   */
  sendPending() {
    const batch = this._batch;
    if (batch === null) return;
    this._batch = null;
    const above = this._native.sendShared(batch.message, Uint32Array.from(batch.ids), batch.compress);
    if (above === null) return;
    for (const id of above) this._connections.get(id)?._target._onAboveHighWater();
  }

  /** Writes what this job sent now rather than after it (a reader of bufferedAmount waits). */
  flushNow() {
    if (this._flushPending) this._flush();
  }

  /** No Buffer is sent yet in the next job (and this one's are not held past it). */
  _forgetBytes() {
    const last = this._lastBytes;
    last.bytes = null;
    last.message = null;
    last.copy = null;
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
    this.sendPending();
    const count = isBinary ? this._native.broadcastBinary(data, exceptId) : this._native.broadcastText(data, exceptId);
    this.scheduleFlush();
    return count;
  }

  /**
   * Sends one message to every subscriber of `topic` but `exceptId`, framed once in Rust.
   * @returns {number} how many connections it was queued on
   */
  publish(topic, data, isBinary, exceptId) {
    this.sendPending();
    const count = isBinary
      ? this._native.publishBinary(topic, data, exceptId)
      : this._native.publishText(topic, data, exceptId);
    this.scheduleFlush();
    return count;
  }

  /** Scale-out: messages not handed to Redis (its queue was full, or Redis was down). */
  get redisDropped() {
    return this._native.redisDropped;
  }

  /** Scale-out: topics whose messages this node receives from Redis. */
  get redisSubscriptions() {
    return this._native.redisSubscriptions;
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
    if (this._connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this._idleWaiters.push(resolve));
  }

  /** Stops event delivery for good; call once no connection is left. */
  release() {
    this._native.release();
  }

  _dispatch(meta, text, bin) {
    for (let i = 0; i < meta.length; i += 4) {
      // kind in bits 0-7, an error code's index in 8-15, a close code or attempt in 16-31.
      const head = meta[i];
      const kind = head & 0xff;
      const id = meta[i + 1];
      const start = meta[i + 2];
      const end = meta[i + 3];
      switch (kind) {
        case REDIS_READY:
        case REDIS_ERROR:
        case REDIS_RECONNECT:
          this._status(kind, head >>> 16, text.slice(start, end));
          continue;
        case BRIDGE_WRITE:
        case BRIDGE_END:
        case BRIDGE_RESUME:
          this._onBridge(kind, id, bin.subarray(start, end));
          continue;
        case WRITTEN:
          this._connections.get(id)?._runWritten();
          continue;
        case PEER_CLOSE: {
          // Every message before the peer's close frame has been handled and what the
          // handlers sent is queued: the engine may now send its close reply after it. A face
          // whose package reads nothing while paused (the `websocket` package) answers once it
          // has let go of the messages it holds (`_holdPeerClose`).
          const connection = this._connections.get(id);
          if (connection === undefined) continue;
          const caughtUp = () => connection.caughtUp();
          if (connection._target._holdPeerClose?.(caughtUp) !== true) caughtUp();
          continue;
        }
      }
      const connection = this._connections.get(id);
      if (connection === undefined) continue;
      const target = connection._target;
      try {
        switch (kind) {
          case TEXT:
            target._onMessage(this._textAsBuffer ? bin.subarray(start, end) : text.slice(start, end), false);
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
            connection.caughtUp();
            target._onError(protocolError(ERROR_CODES[(head >>> 8) & 0xff], text.slice(start, end), head >>> 16));
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

  _status(kind, detail, message) {
    if (this._onStatus === null) return;
    const event =
      kind === REDIS_READY
        ? { type: 'ready' }
        : kind === REDIS_ERROR
          ? { type: 'error', message }
          : kind === REDIS_RECONNECT
            ? { type: 'reconnect', attempt: detail, message }
            : null;
    if (event === null) return;
    try {
      this._onStatus(event);
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  }

  _closed(id) {
    this._connections.get(id)?.closed();
    this._connections.delete(id);
    const bridged = this._bridged.get(id);
    if (bridged !== undefined) {
      this._bridged.delete(id);
      // The engine is done with it: the peer's end came, or closeTimeout passed. A peer that
      // never ends its side must not keep the socket, but what the engine wrote last (its
      // close frame) may still be inside TLS: the socket goes once that is flushed, or after
      // closeTimeout.
      const { socket } = bridged;
      if (socket.writableLength === 0) {
        socket.destroy();
      } else {
        const timer = setTimeout(() => socket.destroy(), this._closeTimeout).unref();
        socket.end(() => {
          clearTimeout(timer);
          socket.destroy();
        });
      }
    }
    if (this._connections.size > 0) return;
    this._native.keepAlive(false);
    for (const resolve of this._idleWaiters.splice(0)) resolve();
  }
}

module.exports = { Engine };
