'use strict';

// ws's WebSocketServer over the Rust engine: the same options, events, handshake answers and
// close semantics; the upgraded socket goes to Rust instead of a JS receiver/sender pair.

const EventEmitter = require('events');
const http = require('http');
const { Engine } = require('../../core/engine');
const native = require('../../core/native');
const { resolve, engineLimits } = require('./options');
const { check, parseProtocols, abortHandshake, isSafeHeaderLine } = require('./handshake');
const { offer } = require('../../core/upgrade-router');
const { IntakeRequest, incomingMessage, addressSocket } = require('../../core/intake-request');

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

/** Sockets already upgraded, to refuse a second handleUpgrade as ws does. */
const upgraded = new WeakSet();

class WebSocketServer extends EventEmitter {
  /**
   * @param {object} options ws's options (see README, "Drop-in for ws"): exactly one of `port`, `server`
   *   or `noServer`; `host`, `backlog`, `path`, `verifyClient`, `handleProtocols`,
   *   `[maxPayload=104857600]`, `[clientTracking=true]`, `[closeTimeout=30000]`,
   *   `[perMessageDeflate=false]` (see options.js for how its settings map), `[autoPong=true]`,
   *   `[WebSocket=WsSocket]` (a class extending WsSocket), and ferrows's
   *   `[maxBackpressure=16777216]`, `[maxInboundPending=4194304]`
   * @param {Function} [callback] a 'listening' listener of the server made for `port`
   */
  constructor(options, callback) {
    super();
    options = resolve(options);
    // Limits are checked before any server is made, so a bad option leaves nothing listening.
    this._engine = new Engine(engineLimits(options));
    this._released = false;

    if (options.port != null) {
      this._server = http.createServer((req, res) => {
        const body = http.STATUS_CODES[426];
        res.writeHead(426, { 'Content-Length': body.length, 'Content-Type': 'text/plain' });
        res.end(body);
      });
      this._server.listen(options.port, options.host, options.backlog, callback);
    } else if (options.server) {
      this._server = options.server;
    }

    if (this._server) {
      const emitConnection = this.emit.bind(this, 'connection');
      const removeListeners = addListeners(this._server, {
        listening: this.emit.bind(this, 'listening'),
        error: this.emit.bind(this, 'error'),
        upgrade: (req, socket, head) => this.handleUpgrade(req, socket, head, emitConnection),
      });
      const stopOffers = offer(this._server, this);
      this._removeListeners = () => {
        removeListeners();
        stopOffers();
      };
    }

    if (options.clientTracking) {
      this.clients = new Set();
      this._shouldEmitClose = false;
    }
    this.options = options;
    this._state = RUNNING;
  }

  /**
   * The address the server made for `port` (or the given `server`) is bound to; null once closed.
   * @throws {Error} in noServer mode
   */
  address() {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    if (!this._server) return null;
    return this._server.address();
  }

  /**
   * Stops accepting connections. Existing clients are left open, as in ws 8: 'close' follows
   * once they have all gone (with clientTracking or an own http server), at once otherwise.
   * An own http server is closed. Called again after 'close', `cb` gets an error.
   * @param {(err?: Error) => void} [cb] a one-time 'close' listener
   */
  close(cb) {
    if (this._state === CLOSED) {
      if (cb) this.once('close', () => cb(new Error('The server is not running')));
      process.nextTick(emitClose, this);
      return;
    }
    if (cb) this.once('close', cb);
    if (this._state === CLOSING) return;
    this._state = CLOSING;

    if (this.options.noServer || this.options.server) {
      if (this._server) {
        this._removeListeners();
        this._removeListeners = this._server = null;
      }
      if (this.clients && this.clients.size > 0) this._shouldEmitClose = true;
      else process.nextTick(emitClose, this);
    } else {
      const server = this._server;
      this._removeListeners();
      this._removeListeners = this._server = null;
      // ws relies on the http server's close, which waits for its upgraded sockets; ours
      // belong to the engine, so wait for it too.
      server.close(() => {
        this._engine.whenIdle().then(() => process.nextTick(emitClose, this));
      });
    }
  }

  /**
   * Whether this server takes `req`: its pathname (query ignored) is `path`, when set.
   * @param {import('http').IncomingMessage} req
   */
  shouldHandle(req) {
    if (this.options.path) {
      const index = req.url.indexOf('?');
      const pathname = index !== -1 ? req.url.slice(0, index) : req.url;
      if (pathname !== this.options.path) return false;
    }
    return true;
  }

  /**
   * The Rust-first intake's offer of a new connection (core/intake.js): taken when its request
   * is one `handleUpgrade` would accept with nothing for JavaScript to decide (no
   * `verifyClient`, no `handleProtocols`, no 'headers' listener), so the 101 is the one ws
   * would send. Anything else is left to Node and this server's 'upgrade' listener.
   * @returns {boolean} whether it took the connection
   */
  _intake(arrival) {
    if (this._state !== RUNNING || this.options.verifyClient || this.options.handleProtocols) return false;
    if (this.listenerCount('headers') > 0) return false;
    // Only a complete, plain upgrade (the engine's parser) is read further; the HTTP requests
    // offered here, whole or still arriving, stop at that, before any object is made for them.
    if (native.plainUpgrade(arrival.first) === null) return false;
    // Then ws's checks, on the request's bytes, before any IncomingMessage is made or any
    // address read.
    const light = new IntakeRequest(arrival.first);
    if (check(light) !== null || parseProtocols(light.headers['sec-websocket-protocol']) === undefined) return false;
    const addresses = arrival.addresses();
    let connection = null;
    // The socket it came on, when it came as one; else a stand-in that shows its addresses and,
    // as the upgraded socket in ws, ends with the connection and cuts it when destroyed. The
    // getter keeps what it needs only: holding the arrival (its request bytes among it) as
    // long as `req` lived cost 1 KB of RSS per connection in the idle row.
    const nodeSocket = arrival.nodeSocket;
    const req = incomingMessage(light, () => {
      if (nodeSocket !== null) return nodeSocket;
      const socket = addressSocket(addresses);
      return connection === null ? socket : connection.keepStandIn(socket);
    });
    if (!this.shouldHandle(req)) return false;
    if (this._engine.negotiate(req.headers['sec-websocket-extensions']) === undefined) return false;
    connection = this._engine.acceptHead(arrival);
    if (connection === null) return false;
    this._adopt(connection, connection.protocol, req, this.emit.bind(this, 'connection'));
    return true;
  }

  /**
   * Completes (or refuses, with ws's HTTP answers) the upgrade of `socket`, then calls
   * `cb(ws, req)`.
   * @param {import('http').IncomingMessage} req
   * @param {import('stream').Duplex} socket
   * @param {Buffer} head
   * @param {(ws: import('./ws-socket').WsSocket, req: import('http').IncomingMessage) => void} cb
   */
  handleUpgrade(req, socket, head, cb) {
    socket.on('error', socketOnError);

    const refusal = check(req);
    if (refusal) return this._refuseClient(req, socket, refusal.status, refusal.message, refusal.headers);
    if (!this.shouldHandle(req)) return abortHandshake(socket, 400);

    const protocols = parseProtocols(req.headers['sec-websocket-protocol']);
    if (protocols === undefined) {
      return this._refuseClient(req, socket, 400, 'Invalid Sec-WebSocket-Protocol header');
    }
    // The engine's answer to the client's offers (null: none); ws refuses bad ones with 400.
    const extensions = this._engine.negotiate(req.headers['sec-websocket-extensions']);
    if (extensions === undefined) {
      return this._refuseClient(req, socket, 400, 'Invalid or unacceptable Sec-WebSocket-Extensions header');
    }
    const key = req.headers['sec-websocket-key'];
    const verifyClient = this.options.verifyClient;
    if (verifyClient) {
      const version = +req.headers['sec-websocket-version'];
      const info = {
        origin: req.headers[version === 8 ? 'sec-websocket-origin' : 'origin'],
        secure: Boolean(req.socket.authorized || req.socket.encrypted),
        req,
      };
      if (verifyClient.length === 2) {
        verifyClient(info, (verified, code, message, headers) => {
          if (!verified) return abortHandshake(socket, code || 401, message, headers);
          this.completeUpgrade(extensions, key, protocols, req, socket, head, cb);
        });
        return;
      }
      if (!verifyClient(info)) return abortHandshake(socket, 401);
    }
    this.completeUpgrade(extensions, key, protocols, req, socket, head, cb);
  }

  /**
   * Writes the 101 (through the engine) and makes the connection. Called by handleUpgrade;
   * `extensions` is the engine's answer to the client's offers (null: none).
   * @private
   */
  completeUpgrade(extensions, key, protocols, req, socket, head, cb) {
    if (upgraded.has(socket)) {
      throw new Error(
        'server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration'
      );
    }
    // The client may have left (or sent its FIN) while verification ran.
    if (!socket.readable || !socket.writable) return socket.destroy();
    if (this._state > RUNNING) return abortHandshake(socket, 503);

    const headers = [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${native.acceptKey(key)}`,
    ];
    let protocol = '';
    if (protocols.size) {
      const chosen = this.options.handleProtocols
        ? this.options.handleProtocols(protocols, req)
        : protocols.values().next().value;
      if (chosen) {
        protocol = String(chosen);
        headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
      }
    }
    if (extensions) headers.push(`Sec-WebSocket-Extensions: ${extensions}`);
    const own = new Set(headers);
    this.emit('headers', headers, req);

    // The engine writes the standard lines itself; what listeners added follows them.
    const extra = headers.filter((line) => !own.has(line));
    const protocolLine = protocol && headers.includes(`Sec-WebSocket-Protocol: ${protocol}`);
    if (!extra.every(isSafeHeaderLine) || /[\r\n]/.test(protocol)) {
      socket.destroy();
      throw new TypeError('A 101 response header line must be a "Name: value" string without line breaks');
    }

    upgraded.add(socket);
    let connection;
    try {
      connection = this._engine.accept(
        socket,
        head,
        key,
        protocolLine ? protocol : undefined,
        extra.length ? extra : undefined,
        extensions ? req.headers['sec-websocket-extensions'] : undefined
      );
    } catch (err) {
      // The descriptor could not move to Rust (the socket died meanwhile): nothing to upgrade.
      socket.destroy();
      if (this.listenerCount('error') > 0) this.emit('error', err);
      return;
    }
    this._adopt(connection, protocol, req, cb);
  }

  /** Makes the socket of an engine connection whose 101 is out, and calls `cb(ws, req)`. */
  _adopt(connection, protocol, req, cb) {
    let ws;
    try {
      // The WebSocket option: WsSocket or an application's subclass of it.
      ws = new this.options.WebSocket(this, connection, protocol);
    } catch (err) {
      // The connection is live in Rust already: let the engine close it and forget it.
      this._engine.register(connection, DISCARD);
      connection.terminate();
      throw err;
    }
    this._engine.register(connection, ws);
    if (this.clients) this.clients.add(ws);
    cb(ws, req);
  }

  _refuseClient(req, socket, status, message, headers) {
    if (this.listenerCount('wsClientError')) {
      const err = new Error(message);
      Error.captureStackTrace(err, this._refuseClient);
      this.emit('wsClientError', err, socket, req);
    } else {
      abortHandshake(socket, status, message, headers);
    }
  }

  /** A connection closed: ws drops it from `clients` before its 'close' listeners run. */
  _forget(ws) {
    if (!this.clients) return;
    this.clients.delete(ws);
    if (this._shouldEmitClose && this.clients.size === 0) process.nextTick(emitClose, this);
  }
}

/** The engine's target for a connection whose object could not be made: ignores its events. */
const DISCARD = {
  _onMessage() {},
  _onPing() {},
  _onPong() {},
  _onDrain() {},
  _onError() {},
  _onClose() {},
};

function addListeners(server, map) {
  for (const event of Object.keys(map)) server.on(event, map[event]);
  return function removeListeners() {
    for (const event of Object.keys(map)) server.removeListener(event, map[event]);
  };
}

function emitClose(server) {
  server._state = CLOSED;
  if (!server._released) {
    server._released = true;
    // No connection can be added now; the engine stops once the last one has gone.
    const engine = server._engine;
    engine.whenIdle().then(() => engine.release());
  }
  server.emit('close');
}

function socketOnError() {
  this.destroy();
}

module.exports = { WebSocketServer };
