'use strict';

// The package's WebSocketServer: mounts on one or more http servers, turns each upgrade into a
// 'request' (or accepts it itself with autoAcceptConnections), keeps `connections` in accept
// order and fans broadcasts out in Rust.

const EventEmitter = require('events');
const { Engine } = require('../../core/engine');
const { route } = require('../../core/upgrade-router');
const { withDefaults, engineLimits } = require('./config');
const { WebSocketRequest } = require('./request');
const { plainUpgrade } = require('../../core/native');
const { IntakeRequest, incomingMessage } = require('../../core/intake-request');

function ignoreHandshakeSocketError() {
  // A client that resets during the handshake must not crash the server; its request then
  // sees the socket close.
}

class WebSocketServer extends EventEmitter {
  /** @param {object} [config] see `mount` */
  constructor(config) {
    super();
    this.connections = [];
    this.pendingRequests = [];
    this._engine = null;
    this._detachers = [];
    const server = this;
    this._handlers = {
      requestAccepted: (connection) => this.handleRequestAccepted(connection),
      requestResolved: (request) => this.handleRequestResolved(request),
      // Every connection's 'close' listener (the package's: first, before the application's),
      // one function for all: the emitter is `this`. A closure per connection, and `once`'s
      // wrapper, cost about 200 bytes of heap per idle connection.
      connectionClosed(reasonCode, description) {
        server.handleConnectionClose(this, reasonCode, description);
      },
    };
    if (config) this.mount(config);
  }

  /**
   * Applies `config` over the defaults and starts taking the upgrades of `config.httpServer`
   * (one server or an array).
   * @param {object} config see types/websocket.d.ts `IServerConfig`
   */
  mount(config) {
    this.config = withDefaults(config);
    if (!this.config.httpServer) throw new Error('You must specify an httpServer on which to mount the WebSocket server.');
    if (!Array.isArray(this.config.httpServer)) this.config.httpServer = [this.config.httpServer];
    // Limits are fixed per engine; a later mount keeps the engine its connections live on.
    if (this._engine === null) this._engine = new Engine(engineLimits(this.config));
    this.unmount();
    this._detachers = this.config.httpServer.map((httpServer) => route(httpServer, this));
  }

  /** Stops taking upgrade requests; open connections stay open. */
  unmount() {
    for (const detach of this._detachers.splice(0)) detach();
  }

  /** Upgrade-router hook: this server takes every upgrade request of its http servers. */
  shouldHandle() {
    return true;
  }

  /** Closes every connection (1000) and answers every pending request with 503. */
  closeAllConnections() {
    for (const connection of this.connections.slice()) connection.close();
    for (const request of this.pendingRequests.slice()) {
      process.nextTick(() => {
        if (!request._resolved) request.reject(503);
      });
    }
  }

  /** Sends a Buffer with `broadcastBytes`, anything else with `broadcastUTF`. */
  broadcast(data) {
    if (Buffer.isBuffer(data)) this.broadcastBytes(data);
    else if (typeof data.toString === 'function') this.broadcastUTF(data);
  }

  /**
   * Sends a text message to every connection of `connections` with its `sendUTF`, as the
   * package does (one the application took out of the array gets nothing). The sends share one
   * frame and cross into Rust together (see Engine._queueShared).
   */
  broadcastUTF(utfData) {
    for (const connection of this.connections) connection.sendUTF(utfData);
  }

  /** Sends a binary message to every connection of `connections` with its `sendBytes`. */
  broadcastBytes(binaryData) {
    for (const connection of this.connections) connection.sendBytes(binaryData);
  }

  /** Unmounts and closes every connection. */
  shutDown() {
    this.unmount();
    this.closeAllConnections();
  }

  /**
   * Takes one upgrade request (the http servers' 'upgrade' events call this).
   * @param {import('http').IncomingMessage} request
   * @param {import('net').Socket} socket
   * @param {Buffer} [head] bytes the client sent after the request
   */
  handleUpgrade(request, socket, head) {
    const wsRequest = new WebSocketRequest(socket, request, this.config);
    this._watch(wsRequest, socket);
    wsRequest._engine = this._engine;
    if (head) wsRequest._head = head;
    try {
      wsRequest.readHandshake();
    } catch (e) {
      wsRequest.reject(e.httpCode ? e.httpCode : 400, e.message, e.headers);
      this.emit('upgradeError', e);
      return;
    }
    this._present(wsRequest);
  }

  /**
   * The Rust-first intake's offer of a new connection (core/intake.js): a plain upgrade becomes
   * a 'request' before Node parses it. Accepted in the handler, the connection goes to the
   * engine as it is, never a net.Socket; a request rejected, or left for later, gets its
   * net.Socket then. Anything this server would refuse is left to Node and `handleUpgrade`.
   * @param {import('http').Server} httpServer the server the connection came to
   * @returns {boolean} whether it took the connection
   */
  _intake(arrival, httpServer) {
    if (this._engine === null) return false;
    // The package hears every upgrade through 'upgrade', beside any other listener, which may
    // take a request this server's handler leaves undecided: with one, Node parses them all.
    if (httpServer.listenerCount('upgrade') > 1) return false;
    if (!this.config.autoAcceptConnections && this.listenerCount('request') === 0) return false;
    const length = plainUpgrade(arrival.first);
    if (length === null) return false;
    const light = new IntakeRequest(arrival.first);
    const early = {
      arrival,
      light,
      httpRequest: () => incomingMessage(light, () => wsRequest.socket),
      onSocket: (socket) => this._watch(wsRequest, socket),
    };
    const wsRequest = new WebSocketRequest(null, null, this.config, early);
    wsRequest._engine = this._engine;
    wsRequest._head = arrival.first.subarray(length);
    try {
      wsRequest.readHandshake();
    } catch {
      return false;
    }
    try {
      this._present(wsRequest);
    } finally {
      // A decision still to come needs the connection as a net.Socket, as Node would have made it.
      if (!wsRequest._resolved) void wsRequest.socket;
    }
    return true;
  }

  /** Keeps a socket's errors from crashing the server while its request is pending. */
  _watch(wsRequest, socket) {
    socket.on('error', ignoreHandshakeSocketError);
    socket.once('close', () => this._handlers.requestResolved(wsRequest));
  }

  /** Hands a valid request to the application ('request'), or answers it as configured. */
  _present(wsRequest) {
    this.pendingRequests.push(wsRequest);
    wsRequest.once('requestAccepted', this._handlers.requestAccepted);
    wsRequest.once('requestResolved', this._handlers.requestResolved);
    if (!this.config.autoAcceptConnections && this.listenerCount('request') > 0) {
      this.emit('request', wsRequest);
    } else if (this.config.autoAcceptConnections) {
      wsRequest.accept(wsRequest.requestedProtocols[0], wsRequest.origin);
    } else {
      wsRequest.reject(404, 'No handler is configured to accept the connection.');
    }
  }

  /** Tracks an accepted connection and emits 'connect'. */
  handleRequestAccepted(connection) {
    // 'close' is emitted once (`closeEventEmitted`), so `on` is the package's `once` here.
    connection.on('close', this._handlers.connectionClosed);
    this.connections.push(connection);
    this.emit('connect', connection);
  }

  /** Forgets a closed connection and emits 'close'. */
  handleConnectionClose(connection, reasonCode, description) {
    const index = this.connections.indexOf(connection);
    if (index !== -1) this.connections.splice(index, 1);
    this.emit('close', connection, reasonCode, description);
  }

  /** Forgets a request once accepted, rejected or abandoned. */
  handleRequestResolved(request) {
    const index = this.pendingRequests.indexOf(request);
    if (index !== -1) this.pendingRequests.splice(index, 1);
  }
}

module.exports = { WebSocketServer };
