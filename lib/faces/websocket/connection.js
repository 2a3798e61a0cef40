'use strict';

// One accepted WebSocket, as the package presents it: message objects, sendUTF/sendBytes with
// completion callbacks, close/drop with the package's codes and description strings. The socket
// itself lives in Rust; this object receives the engine's events (see lib/core/engine.js).

const EventEmitter = require('events');
const { compactListeners } = require('../../core/listeners');
const { CLOSE_REASONS, CLOSE_DESCRIPTIONS, isValidCloseReason } = require('./constants');
const { failureClose } = require('./failures');
const { SocketFacade } = require('./socket-facade');
const { SEND } = require('../../core/protocol');
const { READY_STATE } = require('../../core/ready-state');
const { defineHolding, initPausing } = require('../../core/pausing');

const STATE_OPEN = 'open';
const STATE_ENDING = 'ending';
const STATE_CLOSED = 'closed';

const MAX_CLOSE_REASON = 123;
const EMPTY = Buffer.alloc(0);

function writeAfterEnd() {
  const err = new Error('write after end');
  err.code = 'ERR_STREAM_WRITE_AFTER_END';
  return err;
}

/** A close reason that fits a close frame: at most 123 bytes, cut on a character boundary. */
function wireReason(description) {
  if (typeof description !== 'string') return '';
  let reason = description;
  while (Buffer.byteLength(reason) > MAX_CLOSE_REASON) reason = reason.slice(0, -1);
  return reason;
}

/** Control frame payloads the package's way: toString for non-Buffers, cut above 125 bytes. */
function controlPayload(data) {
  if (!data) return EMPTY;
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.toString(), 'utf8');
  return buf.length > 125 ? buf.subarray(0, 124) : buf;
}

/** What the package's 'frame' event carries; the engine reassembles, so one frame per message. */
function wholeFrame(opcode, payload) {
  return { fin: true, rsv1: false, rsv2: false, rsv3: false, mask: true, opcode, length: payload.length, binaryPayload: payload };
}

class WebSocketConnection extends EventEmitter {
  /**
   * Made by `request.accept()`; the signature is the package's.
   * @param {import('net').Socket} socket the upgraded socket (only its addresses are kept)
   * @param {Array} extensions negotiated extensions (always none)
   * @param {string|null|undefined} protocol the accepted subprotocol
   * @param {boolean} maskOutgoingPackets always false on a server
   * @param {object} config the server's config
   */
  constructor(socket, extensions, protocol, maskOutgoingPackets, config) {
    super();
    compactListeners(this);
    this.config = config;
    this.socket = new SocketFacade(socket, this);
    this.protocol = protocol;
    this.extensions = extensions;
    this.remoteAddress = socket.remoteAddress;
    this.closeReasonCode = -1;
    this.closeDescription = null;
    this.closeEventEmitted = false;
    this.maskOutgoingPackets = maskOutgoingPackets;
    this.connected = true;
    this.state = STATE_OPEN;
    this.waitingForCloseResponse = false;
    this.closeTimeout = config.closeTimeout;
    this.assembleFragments = config.assembleFragments;
    this.maxReceivedMessageSize = config.maxReceivedMessageSize;
    this._outputBufferFull = false;
    this.inputPaused = false;
    initPausing(this);
    this._closed = false;
    /** The engine's connection (core/connection.js), until 'close'. */
    this._connection = null;
    this._failure = null;
    this._lastHeard = Date.now();
  }

  /** Binds the engine's connection; its events arrive through the `_on*` methods. */
  _attach(engine, connection) {
    this._connection = connection;
    engine.register(connection, this);
  }

  /** Sends `data` as text (anything with toString) or binary (a Buffer). */
  send(data, cb) {
    if (Buffer.isBuffer(data)) {
      this.sendBytes(data, cb);
    } else if (typeof data.toString === 'function') {
      this.sendUTF(data, cb);
    } else {
      throw new Error('Data provided must either be a Node Buffer or implement toString()');
    }
  }

  /**
   * Sends a text message (`data.toString()`).
   * @param {*} data
   * @param {(err?: Error) => void} [cb] called once the message is written to the socket
   */
  sendUTF(data, cb) {
    this._send(data.toString(), false, cb);
  }

  /**
   * Sends a binary message.
   * @param {Buffer} data
   * @param {(err?: Error) => void} [cb] called once the message is written to the socket
   */
  sendBytes(data, cb) {
    if (!Buffer.isBuffer(data)) {
      throw new Error('You must pass a Node Buffer object to WebSocketConnection.prototype.sendBytes()');
    }
    this._send(data, true, cb);
  }

  /**
   * True from a send that took the queue past the high-water mark until 'drain', as the package
   * sets it from socket.write. Sends without a callback go in the engine's batch (see
   * Engine._queueShared); reading this hands the batch over first, so it answers as if each
   * send had been made on its own.
   */
  get outputBufferFull() {
    this._connection?.sendPending();
    return this._outputBufferFull;
  }

  set outputBufferFull(full) {
    this._outputBufferFull = full;
  }

  _send(payload, isBinary, cb) {
    const connection = this._connection;
    const callback = typeof cb === 'function' ? cb : null;
    let status = SEND.NOT_OPEN;
    if (connection !== null) {
      // Without a callback the send may join the engine's batch (see Engine._queueShared); a
      // send the batch takes reports the high-water mark later (_onAboveHighWater).
      if (isBinary) status = callback ? connection.sendBytes(payload) : connection.sendBytesInBatch(payload);
      else status = callback ? connection.sendText(String(payload)) : connection.sendTextInBatch(String(payload));
    }
    if (status === SEND.NOT_OPEN) {
      // The package's write after end: only a callback hears of it.
      if (callback) process.nextTick(callback, writeAfterEnd());
      return;
    }
    if (status === SEND.ABOVE_HIGH_WATER) this._outputBufferFull = true;
    if (callback) {
      const args = this._completionArgs(payload);
      connection.whenWritten((written) => (written ? callback(...args) : callback(writeAfterEnd())));
    }
  }

  /**
   * What the package passes a completed send's callback: socket.write's `null` for a message
   * sent as one frame, nothing for a fragmented one.
   */
  _completionArgs(payload) {
    const { fragmentOutgoingMessages, fragmentationThreshold } = this.config;
    const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    return fragmentOutgoingMessages && length > fragmentationThreshold ? [] : [null];
  }

  /** Sends a ping; a payload over 125 bytes is cut (as the package does). */
  ping(data) {
    this._control('ping', controlPayload(data));
  }

  /** Sends a pong (pings are answered automatically unless a 'ping' listener cancels). */
  pong(binaryPayload) {
    this._control('pong', controlPayload(binaryPayload));
  }

  _control(kind, buf) {
    if (this._connection === null || this._connection.readyState !== READY_STATE.OPEN) return;
    this._connection.control(kind, buf);
  }

  /**
   * Stops reading from the peer until `resume()` (TCP pushes back on it); as in the package, no
   * message, ping or pong is emitted meanwhile, even one already read.
   */
  pause() {
    this._pauseReading();
    if (!this.inputPaused) {
      this.inputPaused = true;
      this.emit('pause');
    }
  }

  resume() {
    this._resumeReading();
    if (this.inputPaused) {
      this.inputPaused = false;
      this.emit('resume');
    }
  }

  /**
   * Starts the closing handshake; 'close' follows with this code and description once the peer
   * answers (or `closeTimeout` passes).
   * @param {number} [reasonCode=1000] 1000-1003, 1007-1015 or 3000-4999; anything else throws
   * @param {string} [description] defaults to the code's entry in CLOSE_DESCRIPTIONS
   */
  close(reasonCode, description) {
    if (!this.connected) return;
    if (typeof reasonCode !== 'number') reasonCode = CLOSE_REASONS.CLOSE_REASON_NORMAL;
    if (!isValidCloseReason(reasonCode)) throw new Error('Close code ' + reasonCode + ' is not valid.');
    if (typeof description !== 'string') description = CLOSE_DESCRIPTIONS[reasonCode];
    this.closeReasonCode = reasonCode;
    this.closeDescription = description;
    this.waitingForCloseResponse = true;
    this.state = STATE_ENDING;
    this.connected = false;
    if (this._connection !== null) this._connection.close(reasonCode, wireReason(description));
  }

  /**
   * Closes at once: sends a close frame (unless `skipCloseFrame`), emits 'close' synchronously
   * and does not wait for the peer.
   * @param {number} [reasonCode=1002]
   * @param {string} [description] defaults to the code's entry in CLOSE_DESCRIPTIONS
   * @param {boolean} [skipCloseFrame=false]
   */
  drop(reasonCode, description, skipCloseFrame) {
    if (typeof reasonCode !== 'number') reasonCode = CLOSE_REASONS.CLOSE_REASON_PROTOCOL_ERROR;
    if (typeof description !== 'string') description = CLOSE_DESCRIPTIONS[reasonCode];
    // The package sends no close frame once close() sent one: the engine is asked for the same
    // frame, which it then does not send again (it may not have gone yet).
    const [wireCode, wireDescription] =
      this.state === STATE_ENDING ? [this.closeReasonCode, this.closeDescription] : [reasonCode, description];
    this.closeReasonCode = reasonCode;
    this.closeDescription = description;
    this.connected = false;
    this.state = STATE_CLOSED;
    this.waitingForCloseResponse = false;
    const connection = this._connection;
    if (connection !== null) {
      if (skipCloseFrame || !Number.isInteger(wireCode) || wireCode < 0 || wireCode > 0xffff) {
        connection.terminate();
      } else {
        connection.drop(wireCode, wireReason(wireDescription));
      }
    }
    this._emitClose(reasonCode, description);
  }

  _terminate() {
    if (this._connection !== null) this._connection.terminate();
  }

  _emitClose(code, description) {
    if (this.closeEventEmitted) return;
    this.closeEventEmitted = true;
    this.emit('close', code, description);
  }

  _onMessage(data, isBinary) {
    this._lastHeard = Date.now();
    // Tested before _hold so that the common case builds no closure per message.
    if (!this._paused && this._held.length === 0) this._emitMessage(data, isBinary);
    else this._hold(() => this._emitMessage(data, isBinary));
  }

  _emitMessage(data, isBinary) {
    // The package ignores what arrives once it has sent its close frame.
    if (!this.connected) return;
    if (!this.assembleFragments) {
      this.emit('frame', wholeFrame(isBinary ? 2 : 1, isBinary ? data : Buffer.from(data)));
    } else if (isBinary) {
      this.emit('message', { type: 'binary', binaryData: data });
    } else {
      this.emit('message', { type: 'utf8', utf8Data: data });
    }
  }

  _onPing(data) {
    this._lastHeard = Date.now();
    if (!this._hold(() => this._emitPing(data))) this._emitPing(data);
  }

  _emitPing(data) {
    // The package reads nothing more once it has sent its close frame, so answers nothing.
    if (!this.connected) return;
    if (!this.assembleFragments) this.emit('frame', wholeFrame(0x09, data));
    // As the package: listeners get `cancel`, and the pong goes after them unless one called it.
    let cancelled = false;
    if (this.listenerCount('ping') > 0) {
      this.emit(
        'ping',
        () => {
          cancelled = true;
        },
        data
      );
    }
    if (!cancelled) this.pong(data);
  }

  /**
   * The peer's close frame came behind messages a pause holds: the package reads nothing while
   * paused, so the close reply (and 'close') waits for resume() and those messages. Past
   * closeTimeout the engine ends the connection (1006, as the package's ends when the client
   * gives up waiting for its reply). Returns whether it waits.
   */
  _holdPeerClose(caughtUp) {
    return this._hold(caughtUp);
  }

  _onPong(data) {
    this._lastHeard = Date.now();
    if (!this._hold(() => this._emitPong(data))) this._emitPong(data);
  }

  _emitPong(data) {
    if (!this.connected) return;
    if (!this.assembleFragments) this.emit('frame', wholeFrame(0x0a, data));
    this.emit('pong', data);
  }

  /** The queue emptied after a send found it above the high-water mark: the package's 'drain'. */
  _onDrain() {
    if (this._outputBufferFull) {
      this._outputBufferFull = false;
      this.emit('drain');
    }
  }

  /** A batched send took the queue past the high-water mark: 'drain' follows. */
  _onAboveHighWater() {
    this._outputBufferFull = true;
  }

  _onError(err) {
    this._failure = err;
    // Protocol failures only close in the package; an engine failure it has no equivalent
    // for (outbound backpressure) is also reported as 'error' when someone listens.
    if (err.code === 'WS_ERR_BACKPRESSURE' && this.listenerCount('error') > 0) {
      this.emit('error', err);
    }
  }

  _onClose(code, reason) {
    this._closed = true;
    // The package processes nothing once its socket has closed: what a pause still holds is not
    // delivered (nor is the peer's close it held, which closeTimeout has cut short). Resumed,
    // what it was letting go comes first, as everything else does.
    if (this._paused) this._dropHeld();
    else this._release();
    this._connection = null;
    if (this.closeEventEmitted) {
      this.socket._closed();
      return;
    }
    const [closeCode, description] = this._closeReason(code, reason);
    this.closeReasonCode = closeCode;
    this.closeDescription = description;
    this.connected = false;
    this.state = STATE_CLOSED;
    this.waitingForCloseResponse = false;
    // The package's connection reports its close from its socket's: the socket's comes first.
    this.socket._closed();
    this._emitClose(closeCode, description);
  }

  /** The code and description the package reports for how the engine says the connection ended. */
  _closeReason(code, reason) {
    if (this.state === STATE_ENDING) return [this.closeReasonCode, this.closeDescription];
    if (this._failure !== null) {
      return failureClose(this._failure);
    }
    // The package reads an empty close frame as no close frame at all.
    if (code === 1006 || code === 1005) {
      return [1006, this._timedOut() ? 'Peer not responding.' : 'Connection dropped by remote peer.'];
    }
    // A one-byte reason is ignored by the package, which then uses the code's description.
    return [code, Buffer.byteLength(reason) > 1 ? reason : CLOSE_DESCRIPTIONS[code]];
  }

  /** Whether the engine's keepalive dropped the peer: it has been silent for the whole timeout. */
  _timedOut() {
    const { keepalive, useNativeKeepalive, dropConnectionOnKeepaliveTimeout, keepaliveInterval, keepaliveGracePeriod } = this.config;
    if (!keepalive || useNativeKeepalive || !dropConnectionOnKeepaliveTimeout) return false;
    return Date.now() - this._lastHeard >= keepaliveInterval + keepaliveGracePeriod;
  }
}

defineHolding(WebSocketConnection);
for (const [name, value] of Object.entries(CLOSE_REASONS)) WebSocketConnection[name] = value;
WebSocketConnection.CLOSE_DESCRIPTIONS = CLOSE_DESCRIPTIONS;

/**
 * The package's `_debug` with the debug module off (its own example servers call
 * `connection._debug.printOutput()`): one no-op logger on the prototype, for every connection.
 */
function noDebug() {}
noDebug.enabled = false;
noDebug.printOutput = noDebug;
WebSocketConnection.prototype._debug = noDebug;

module.exports = { WebSocketConnection };
