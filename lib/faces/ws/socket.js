'use strict';

// A server-side connection with ws's WebSocket API, over a socket the Rust engine owns.

const EventEmitter = require('events');
const { compactListeners } = require('../../core/listeners');
const { mixin } = require('./events');
const { SEND } = require('../../core/protocol');
const { Connection } = require('../../core/connection');
const { SocketStandIn } = require('./socket-stand-in');
const { READY_STATE, defineReadyStates } = require('../../core/ready-state');
const { toWsError, notOpenError, destroyedError } = require('./errors');
const { EMPTY, BINARY_TYPES, sendOptions, isBlob, bytesOf, closeReason, asBinaryType } = require('./data');
const { definePausing, initPausing } = require('../../core/pausing');

const { OPEN, CLOSING, CLOSED } = READY_STATE;

class WsSocket extends EventEmitter {
  /**
   * Made by `WebSocketServer#handleUpgrade`; applications do not construct it.
   * @param {object} server the owning WebSocketServer
   * @param {import('../../core/connection').Connection} connection the engine's connection
   * @param {string} protocol the chosen subprotocol, or ''
   */
  constructor(server, connection, protocol) {
    if (!(connection instanceof Connection)) {
      // `new WebSocket(url)` with ws makes a client; ferrows has none.
      throw new TypeError('ferrows/ws has no client: a WebSocket is made by a WebSocketServer for each connection');
    }
    super();
    compactListeners(this);
    this._server = server;
    this._connection = connection;
    this._protocol = protocol;
    this._binaryType = 'nodebuffer';
    initPausing(this);
    this._closing = false;
    this._closed = false;
    this._errored = false;
    this._closeCode = 1006;
    // Bytes handed to send() after close and bytes of Blobs being read: ws counts both.
    this._lateBytes = 0;
    this._blobBytes = 0;
    // Operations waiting behind a Blob being read, so that frames keep their order.
    this._queue = null;
    // A message sent in parts (send with fin: false), joined until its last part.
    this._fragments = null;
  }

  /**
   * ws's `ws._socket`: a bridged (TLS) connection's own socket; otherwise a stand-in with the
   * peer's and local addresses (read from the engine's socket while it is open), socket options
   * accepted and ignored, and the 'finish' ws's `createWebSocketStream` waits for. Made on first
   * read and kept.
   */
  get _socket() {
    const socket = this._connection.bridgedSocket() ?? new SocketStandIn(this._connection.addresses(), this);
    Object.defineProperty(this, '_socket', { value: socket });
    return socket;
  }

  /** 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob': the type of binary messages. */
  get binaryType() {
    return this._binaryType;
  }

  set binaryType(type) {
    if (BINARY_TYPES.includes(type)) this._binaryType = type;
  }

  /** Bytes queued and not yet written to the socket. */
  get bufferedAmount() {
    const queued = this._closed ? 0 : this._connection.bufferedAmount;
    return queued + this._lateBytes + this._blobBytes;
  }

  /** The agreed extension's name ('permessage-deflate'), or '', as in ws. */
  get extensions() {
    return this._connection.extensions;
  }

  get protocol() {
    return this._protocol;
  }

  get readyState() {
    if (this._closed) return CLOSED;
    if (this._closing) return CLOSING;
    return this._connection.readyState === OPEN ? OPEN : CLOSING;
  }

  /** Undefined on server sockets, as in ws. */
  get url() {
    return undefined;
  }

  /**
   * Sends a message: strings as text and anything else as binary unless `options.binary` says
   * otherwise. `cb(err)` runs once the message is written, or with an error when not open.
   * @param {*} data string, Buffer, TypedArray, DataView, ArrayBuffer, Blob, or a number
   * @param {{ binary?: boolean, fin?: boolean, compress?: boolean, mask?: boolean }} [options={}]
   * @param {(err?: Error | null) => void} [cb]
   */
  send(data, options, cb) {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (cb === undefined && this._queue === null && this._fragments === null && !this._closing) {
      // The common calls (an echo's, a chat loop's): a whole string or Buffer, nothing waiting
      // ahead of it. The engine's status says whether it was open, so no readyState crossing
      // comes first.
      const status = this._sendWhole(data, options);
      if (status === SEND.NOT_OPEN) return this._sendAfterClose(data);
      if (status !== -1) return;
    }
    if (typeof data === 'number') data = data.toString();
    if (this.readyState !== OPEN) return this._sendAfterClose(data, cb);
    this._write('message', data || EMPTY, sendOptions(data, options), cb);
  }

  /**
   * Sends a whole string or Buffer as ws would with these options; -1 for anything else (other
   * data, or a part of a message), which takes the general path.
   */
  _sendWhole(data, options) {
    let binary;
    let compress = true;
    if (options !== undefined) {
      if (options.fin === false) return -1;
      binary = options.binary;
      compress = options.compress !== false;
    }
    // ws's send reports no high-water mark: the engine may batch these (see Engine._queueShared).
    if (typeof data === 'string') {
      return binary === true ? -1 : this._connection.sendTextInBatch(data, compress);
    }
    // A Buffer sent with `binary: false` is a text message of those bytes, as in ws.
    if (Buffer.isBuffer(data)) return this._connection.sendBytesInBatch(data, binary === false, compress);
    return -1;
  }

  /**
   * Sends a ping (at most 125 bytes of data).
   * @param {*} [data]
   * @param {boolean} [mask] ignored: a server does not mask
   * @param {(err?: Error | null) => void} [cb] called once written
   */
  ping(data, mask, cb) {
    this._control('ping', data, mask, cb);
  }

  /**
   * Sends a pong (at most 125 bytes of data).
   * @param {*} [data]
   * @param {boolean} [mask] ignored: a server does not mask
   * @param {(err?: Error | null) => void} [cb] called once written
   */
  pong(data, mask, cb) {
    this._control('pong', data, mask, cb);
  }

  _control(kind, data, mask, cb) {
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
    }
    if (typeof data === 'number') data = data.toString();
    if (this.readyState !== OPEN) return this._sendAfterClose(data, cb);
    data = data || EMPTY;
    const size = isBlob(data) ? data.size : (data = bytesOf(data)).length;
    if (size > 125) throw new RangeError('The data size must not be greater than 125 bytes');
    this._write(kind, data, null, cb);
  }

  /**
   * Starts the closing handshake; 'close' follows when the client answers or closeTimeout passes.
   * Without a code the close frame is empty (the client sees 1005).
   * @param {number} [code]
   * @param {string|Buffer} [reason]
   */
  close(code, reason) {
    if (this.readyState !== OPEN) return;
    const text = closeReason(code, reason);
    this._closing = true;
    this._run(() => this._connection.close(text === undefined ? undefined : code, text));
  }

  /** Destroys the connection at once; 'close' follows with 1006. */
  terminate() {
    if (this._closed) return;
    this._closing = true;
    this._connection.terminate();
  }

  _sendAfterClose(data, cb) {
    // ws keeps counting what is sent after close in bufferedAmount.
    if (data) this._lateBytes += isBlob(data) ? data.size : bytesOf(data).length;
    if (cb) process.nextTick(cb, notOpenError(this.readyState));
  }

  /** Runs `op` now, or after the Blob being read has been sent. */
  _run(op) {
    if (this._queue !== null) this._queue.push(op);
    else op();
  }

  _write(kind, data, opts, cb) {
    if (this._queue !== null) {
      this._queue.push(() => this._write(kind, data, opts, cb));
      return;
    }
    if (isBlob(data)) {
      this._readBlob(kind, data, opts, cb);
      return;
    }
    if (kind === 'message') this._message(data, opts, cb);
    else this._afterQueued(this._connection.control(kind, data), cb);
  }

  _readBlob(kind, blob, opts, cb) {
    this._queue = [];
    this._blobBytes += blob.size;
    const next = (buf, err) => {
      this._blobBytes -= blob.size;
      const queue = this._queue;
      this._queue = null;
      if (err) {
        if (cb) process.nextTick(cb, err);
        this._onError(err);
        this.terminate();
      } else if (this._connection.readyState !== OPEN) {
        if (cb) process.nextTick(cb, new Error('The socket was closed while the blob was being read'));
      } else {
        this._write(kind, buf, opts, cb);
      }
      while (queue.length > 0) {
        queue.shift()();
        // A later Blob holds the rest back again.
        if (this._queue !== null) {
          this._queue.push(...queue);
          break;
        }
      }
    };
    blob.arrayBuffer().then(
      (ab) => next(Buffer.from(ab)),
      (err) => next(null, err)
    );
  }

  _message(data, opts, cb) {
    let binary = Boolean(opts.binary);
    // As in ws, a message goes compressed (where agreed) unless its first part says otherwise.
    let compress = opts.compress !== false;
    let payload = data;
    if (this._fragments !== null || !opts.fin) {
      // The engine sends whole messages: parts are joined and go out with the last one.
      if (this._fragments === null) this._fragments = { binary, compress, parts: [], callbacks: [] };
      const message = this._fragments;
      message.parts.push(bytesOf(data));
      if (cb) message.callbacks.push(cb);
      if (!opts.fin) return;
      this._fragments = null;
      binary = message.binary;
      compress = message.compress;
      payload = Buffer.concat(message.parts);
      cb = message.callbacks.length === 0 ? undefined : (err) => message.callbacks.forEach((f) => f(err));
    }
    let status;
    if (typeof payload === 'string' && !binary) {
      status = this._connection.sendText(payload, compress);
    } else {
      // A Buffer sent as text goes out byte for byte, as ws sends it.
      status = this._connection.sendBytes(bytesOf(payload), !binary, compress);
    }
    this._afterQueued(status, cb);
  }

  _afterQueued(status, cb) {
    if (!cb) return;
    if (status === SEND.NOT_OPEN) {
      process.nextTick(cb, notOpenError(this.readyState));
    } else {
      this._connection.whenWritten((written) => cb(written ? null : destroyedError()));
    }
  }

  _onMessage(data, isBinary) {
    // Tested before _hold so that the common case builds no closure per message.
    if (!this._paused && this._held.length === 0) this._emitMessage(data, isBinary);
    else this._hold(() => this._emitMessage(data, isBinary));
  }

  _emitMessage(data, isBinary) {
    if (!isBinary) {
      // Text arrives as a Buffer already (the engine's textAsBuffer), as ws delivers it.
      this.emit('message', data, false);
      return;
    }
    this.emit('message', asBinaryType(data, this._binaryType), true);
  }

  _onPing(data) {
    if (!this._hold(() => this.emit('ping', data))) this.emit('ping', data);
  }

  _onPong(data) {
    if (!this._hold(() => this.emit('pong', data))) this.emit('pong', data);
  }

  /** ws has no 'drain' on a connection: its send callbacks (Connection.whenWritten) say it. */
  _onDrain() {}

  /** Nor a high-water mark: ws's send returns nothing. */
  _onAboveHighWater() {}

  _onError(err) {
    // Behind the messages held before it, as ws reports a bad frame after the ones before it.
    if (!this._hold(() => this._emitError(err))) this._emitError(err);
  }

  _emitError(err) {
    if (this._errored) return;
    this._errored = true;
    // ws throws when nobody listens; a client's misbehaviour must not crash the server here.
    if (this.listenerCount('error') > 0) this.emit('error', toWsError(err));
  }

  _onClose(code, reason) {
    this._closed = true;
    // ws reads what the socket still buffered before it reports the close.
    this._release();
    // ws reports a connection it failed (protocol error, limit) as 1006: it never receives the
    // client's close frame after failing.
    this._closeCode = this._errored ? 1006 : code;
    const message = this._errored || reason === '' ? EMPTY : Buffer.from(reason);
    this._server._forget(this);
    if (Object.hasOwn(this, '_socket') && this._socket instanceof SocketStandIn) this._socket._finish();
    if (Object.hasOwn(this, '_finishing')) for (const fn of this._finishing.splice(0)) fn();
    this.emit('close', this._closeCode, message);
  }

  /**
   * Runs `fn` when the connection's socket is done, just before 'close' (where ws's socket
   * emits 'finish', which createWebSocketStream waits for: a TLS socket the engine is bridged
   * through is destroyed instead); at once when it is done already.
   */
  _whenFinished(fn) {
    if (this._closed) return fn();
    if (!Object.hasOwn(this, '_finishing')) this._finishing = [];
    this._finishing.push(fn);
  }

  /** Whether the closing handshake completed (the CloseEvent's wasClean). */
  _wasClean() {
    return this._closed && this._closeCode !== 1006;
  }
}

defineReadyStates(WsSocket);
definePausing(WsSocket);
for (const name of ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url']) {
  Object.defineProperty(WsSocket.prototype, name, { enumerable: true });
}
mixin(WsSocket.prototype);

module.exports = { WsSocket };
