'use strict';

// The native face: `attach(httpServer, options)` returns this server. It takes the upgrade
// requests of its path, runs verifyClient and protocol selection, and hands the socket to Rust.

const EventEmitter = require('events');
const { Engine } = require('../../core/engine');
const { normalize } = require('./options');
const { route } = require('../../core/upgrade-router');
const { reject } = require('../../core/handshake');
const { negotiate, matchesPath } = require('./negotiate');
const { WebSocket, checkTopic } = require('./socket');
const { toPayload } = require('../../core/payload');
const { argTypeError } = require('../../core/errors');
const { IntakeRequest } = require('../../core/intake-request');
const { ENGINE_DEFAULTS } = require('../../core/limits');
const { plainUpgrade } = require('../../core/native');

/** Connection object of the native face: the engine's events become EventEmitter events. */
class ServerSocket extends WebSocket {
  _onMessage(data, isBinary) {
    // Tested before _hold so that the common case builds no closure per message.
    if (!this._paused && this._held.length === 0) this.emit('message', data, isBinary);
    else this._hold(() => this.emit('message', data, isBinary));
  }

  _onPing(data) {
    if (!this._hold(() => this.emit('ping', data))) this.emit('ping', data);
  }

  _onPong(data) {
    if (!this._hold(() => this.emit('pong', data))) this.emit('pong', data);
  }

  _onDrain() {
    // The queue emptied after a send went past the high-water mark. Sends later in that job may
    // have taken it past the mark again: then this 'drain' is stale, and another follows when
    // the queue empties again.
    if (this._connection.bufferedAmount <= this._server._highWaterMark) this.emit('drain');
  }

  _onError(err) {
    // Behind the messages held before it, as ws reports a bad frame after the ones before it.
    if (!this._hold(() => this._emitError(err))) this._emitError(err);
  }

  _emitError(err) {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  _onClose(code, reason) {
    this._server._forget(this);
    this._emitClosed(code, reason);
  }
}

class Server extends EventEmitter {
  /**
   * @param {import('http').Server | null} httpServer server whose upgrades to take, or null to
   *   call `handleUpgrade` yourself
   * @param {object} [options] see index.d.ts `AttachOptions`
   */
  constructor(httpServer, options) {
    super();
    const { server, engine } = normalize(options);
    this.options = server;
    this.path = server.path;
    this.clients = new Set();
    this._engine = new Engine(engine, (event) => this._onRedis(event));
    this._highWaterMark = engine.highWaterMark ?? ENGINE_DEFAULTS.highWaterMark;
    this._closing = null;
    this._detach = httpServer ? route(httpServer, this) : null;
  }

  /** Whether this server takes `req` (its path matches, when a path is set). */
  shouldHandle(req) {
    return matchesPath(this.path, req);
  }

  /**
   * Completes (or refuses) the upgrade of `socket`; for code that owns the 'upgrade' event.
   */
  handleUpgrade(req, socket, head) {
    socket.on('error', onHandshakeSocketError);
    if (this._closing) return reject(socket, 503, 'Server is shutting down');
    negotiate(
      this._engine,
      this.options,
      req,
      { secure: Boolean(socket.encrypted), socketOf: () => socket },
      (protocol) => this._accept(req, socket, head, protocol),
      (err) => this._emitError(err)
    );
  }

  _accept(req, socket, head, protocol) {
    // The client may have left while verification ran.
    if (socket.destroyed || !socket.readable) return socket.destroy();
    if (this._closing) return reject(socket, 503, 'Server is shutting down');
    const info = { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, protocol: protocol || '' };
    const key = req.headers['sec-websocket-key'];
    const offers = req.headers['sec-websocket-extensions'];
    const connection = this._engine.accept(socket, head, key, protocol || undefined, undefined, offers);
    this._open(connection, info, req);
  }

  /**
   * The Rust-first intake (core/intake.js): takes a new connection whose first bytes are a plain
   * upgrade to this server. With no verifyClient or handleProtocols, the engine answers it with
   * the first offered subprotocol. Otherwise they run here, on the light request: decided at
   * once, the connection is taken as it is or refused; decided later, it becomes a net.Socket
   * (`arrival.socket()`) and goes on as `handleUpgrade`'s would. False leaves it to Node's
   * parser and `handleUpgrade`.
   */
  _intake(arrival) {
    if (this._closing || this.options.intake === false) return false;
    if (!this.options.verifyClient && !this.options.handleProtocols) {
      const connection = this._engine.acceptHead(arrival);
      if (connection === null) return false;
      const addresses = arrival.addresses();
      this._opened(connection, new IntakeRequest(arrival.first, arrival.nodeSocket ?? addresses), addresses);
      return true;
    }
    const length = plainUpgrade(arrival.first);
    if (length === null) return false;
    // verifyClient, handleProtocols and 'connection' get the light request, as 'connection' does
    // without them: an IncomingMessage for each upgrade measured 2-3 KB more per idle connection
    // (V8's young generation) at 10,000.
    const addresses = arrival.addresses();
    // Its `socket`: the net.Socket it came on, when it came as one, else its addresses.
    const req = new IntakeRequest(arrival.first, arrival.nodeSocket ?? addresses);
    const socketOf = () => arrival.socket(onHandshakeSocketError);
    let decided = false;
    const accept = (protocol) => {
      decided = true;
      if (arrival.socket.made === null && !this._closing) {
        const connection = this._engine.acceptHead(arrival, { protocol });
        if (connection !== null) return this._opened(connection, req, addresses);
      }
      // Decided later, refused by the engine as it is (out of descriptors, say), or closing.
      this._accept(req, socketOf(), arrival.first.subarray(length), protocol);
    };
    try {
      negotiate(this._engine, this.options, req, { secure: false, socketOf }, accept, (err) => this._emitError(err));
    } finally {
      // A decision still to come needs the connection as a net.Socket, as Node would have made it.
      if (!decided) socketOf();
    }
    return true;
  }

  /** The native face's side of a connection the intake took. */
  _opened(connection, req, addresses) {
    const info = { remoteAddress: addresses.remoteAddress, remotePort: addresses.remotePort, protocol: connection.protocol };
    this._open(connection, info, req);
  }

  _open(connection, info, req) {
    const ws = new ServerSocket(this, connection, info);
    this._engine.register(connection, ws);
    this.clients.add(ws);
    this.emit('connection', ws, req);
  }

  _forget(ws) {
    this.clients.delete(ws);
  }

  /** Scale-out status: 'redisReady', 'redisReconnect' (attempt, reason) and 'error'. */
  _onRedis(event) {
    if (event.type === 'ready') this.emit('redisReady');
    else if (event.type === 'reconnect') this.emit('redisReconnect', event.attempt, event.message);
    else if (event.type === 'error') this._emitError(redisError(event.message));
  }

  _emitError(err) {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /**
   * Sends `data` to every open connection (but `options.except`), framed once and fanned out in
   * Rust. Returns how many connections it was queued on.
   */
  broadcast(data, options = {}) {
    const [payload, isBinary] = toPayload(data);
    return this._engine.broadcast(payload, isBinary, exceptId(this, options));
  }

  /**
   * Sends `data` to every subscriber of `topic` (but `options.except`), framed once and fanned
   * out in Rust. Returns how many connections it was queued on.
   */
  publish(topic, data, options = {}) {
    const [payload, isBinary] = toPayload(data);
    return this._engine.publish(checkTopic(topic), payload, isBinary, exceptId(this, options));
  }

  /** How many connections subscribe to `topic`. */
  subscribers(topic) {
    return this._engine.subscribers(checkTopic(topic));
  }

  /** Scale-out: messages not handed to Redis (its queue was full, or Redis was down). */
  get redisDropped() {
    return this._engine.redisDropped;
  }

  /**
   * Scale-out: how many topics this node receives from Redis, one channel each: the topics with
   * a subscriber here (a subscription reaches Redis a few milliseconds after the first local
   * subscriber joins, and leaves after the last one).
   */
  get redisSubscriptions() {
    return this._engine.redisSubscriptions;
  }

  /** How many topics have at least one subscriber (an empty topic is freed at once). */
  get topicCount() {
    return this._engine.topicCount;
  }

  /**
   * Closes every connection with 1001, waits for their close handshakes (each bounded by
   * closeTimeout), detaches from the http server and lets the process exit. Idempotent.
   * @param {Function} [callback] called once closed
   * @returns {Promise<void>}
   */
  close(callback) {
    if (!this._closing) {
      if (this._detach) this._detach();
      for (const ws of this.clients) ws.close(1001, 'Server shutting down');
      this._closing = this._engine.whenIdle().then(() => {
        this._engine.release();
        this.emit('close');
      });
    }
    if (typeof callback === 'function') this._closing.then(() => callback(), callback);
    return this._closing;
  }
}

function redisError(message) {
  const err = new Error(message);
  err.code = 'ERR_FERROWS_REDIS';
  return err;
}

/**
 * The engine id of `options.except` when it is a connection of `server`. A connection of another
 * server leaves nobody out: its id is that server's engine's, and may be one of this one's.
 */
function exceptId(server, options) {
  const except = options?.except;
  if (!except) return undefined;
  if (!(except instanceof WebSocket)) throw argTypeError('options.except', 'a WebSocket', except);
  return except._server === server ? except._connection.id : undefined;
}

function onHandshakeSocketError() {
  // A socket that fails during the handshake is destroyed by Node; nothing else to do.
}

/**
 * Attaches a WebSocket server to an existing http/https server.
 * @returns {Server}
 */
function attach(httpServer, options) {
  if (!httpServer || typeof httpServer.on !== 'function' || typeof httpServer.listenerCount !== 'function') {
    throw argTypeError('httpServer', 'an http.Server', httpServer);
  }
  return new Server(httpServer, options);
}

module.exports = { Server, ServerSocket, attach };
