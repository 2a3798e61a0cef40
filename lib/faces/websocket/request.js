'use strict';

// A WebSocket upgrade request waiting for the application's decision: `accept` hands the socket
// to the Rust engine (which writes the 101), `reject` answers with an HTTP error.

const EventEmitter = require('events');
const url = require('url');
const { WebSocketConnection } = require('./connection');
const { Engine } = require('../../core/engine');
const { withDefaults, engineLimits } = require('./config');
const { addressSocket } = require('../../core/intake-request');
const {
  headerValueSplit,
  sanitize,
  handshakeError,
  parseExtensions,
  parseCookies,
  checkProtocolToken,
  cookieLines,
  reject,
} = require('./handshake');

const xForwardedForSeparator = /,\s*/;
/**
 * Engines for requests made without a server (the package lets an application build one
 * from a socket, a request and a config), one per config object.
 */
const standaloneEngines = new WeakMap();

function standaloneEngine(config) {
  let engine = standaloneEngines.get(config);
  if (engine === undefined) {
    engine = new Engine(engineLimits(withDefaults(config)));
    standaloneEngines.set(config, engine);
  }
  return engine;
}

/** Every connection's `extensions`: none are agreed (as in the package), one frozen array for all. */
const NO_EXTENSIONS = Object.freeze([]);

class WebSocketRequest extends EventEmitter {
  /**
   * @param {import('net').Socket | null} socket the upgraded socket (null with `early`)
   * @param {import('http').IncomingMessage | null} httpRequest (null with `early`)
   * @param {object} serverConfig the server's merged config
   * @param {object} [early] a connection the Rust-first intake offered (core/intake.js):
   *   `{ arrival, light, httpRequest(), onSocket(socket) }`. Its request is read from `light`
   *   (an IntakeRequest); `httpRequest()` makes the IncomingMessage when the application first
   *   reads it, and the connection becomes a net.Socket only when `socket` is first read
   *   (`onSocket` is then called with it).
   */
  constructor(socket, httpRequest, serverConfig, early) {
    super();
    this._httpRequest = httpRequest;
    this.resource = (httpRequest ?? early.light).url;
    this.serverConfig = serverConfig;
    /** Set by the server: the engine that takes the socket, and the bytes read past the request. */
    this._engine = null;
    this._head = Buffer.alloc(0);
    this._resolved = false;
    // A client that leaves before the decision still gets a connection object, which then
    // closes with 1006 (as in the package).
    this._socketIsClosing = false;
    this._socketCloseHandler = () => {
      this._socketIsClosing = true;
      this._removeSocketCloseListeners();
    };
    this._socket = null;
    this._early = early ?? null;
    /** The engine's connection, when it took the intake's as it was (never made a net.Socket here). */
    this._handedOff = null;
    /** The addresses the connection shows: the socket's, or the intake's arrival's. */
    this._addresses = early === undefined ? socket : early.arrival.addresses();
    if (early === undefined) this._own(socket);
    this.remoteAddress = this._addresses.remoteAddress;
    this.remoteAddresses = [this.remoteAddress];
  }

  /**
   * The upgraded socket. For a connection the intake offered, made when first read: a net.Socket
   * over the connection while the request is pending, and after the engine took the connection,
   * the socket it came on, or a stand-in that shows its addresses; either ends with the
   * connection and cuts it when destroyed, as the upgraded socket in the package.
   */
  get socket() {
    if (this._socket === null && this._early !== null) {
      if (this._handedOff !== null) {
        this._socket = this._early.arrival.nodeSocket ?? this._handedOff.keepStandIn(addressSocket(this._addresses));
      } else {
        const socket = this._early.arrival.socket();
        this._own(socket);
        this._early.onSocket(socket);
      }
    }
    return this._socket;
  }

  set socket(socket) {
    this._socket = socket;
  }

  /** The upgrade request: for a connection the intake offered, made when first read. */
  get httpRequest() {
    if (this._httpRequest === null) this._httpRequest = this._early.httpRequest();
    return this._httpRequest;
  }

  set httpRequest(httpRequest) {
    this._httpRequest = httpRequest;
  }

  _own(socket) {
    this._socket = socket;
    socket.on('end', this._socketCloseHandler);
    socket.on('close', this._socketCloseHandler);
  }

  /** Reads the handshake headers; throws (with `httpCode`) when the request must be refused. */
  readHandshake() {
    const headers = (this._httpRequest ?? this._early.light).headers;
    this.resourceURL = url.parse(this.resource, true);
    this.host = headers.host;
    if (!this.host) throw handshakeError('Client must provide a Host header.');
    this.key = headers['sec-websocket-key'];
    if (!this.key) throw handshakeError('Client must provide a value for Sec-WebSocket-Key.');
    this.webSocketVersion = parseInt(headers['sec-websocket-version'], 10);
    if (!this.webSocketVersion || isNaN(this.webSocketVersion)) {
      throw handshakeError('Client must provide a value for Sec-WebSocket-Version.');
    }
    if (this.webSocketVersion !== 8 && this.webSocketVersion !== 13) {
      throw handshakeError(
        'Unsupported websocket client version: ' + this.webSocketVersion + 'Only versions 8 and 13 are supported.',
        426,
        { 'Sec-WebSocket-Version': '13' }
      );
    }
    this.origin = this.webSocketVersion === 13 ? headers.origin : headers['sec-websocket-origin'];

    this.protocolFullCaseMap = {};
    this.requestedProtocols = [];
    const protocols = headers['sec-websocket-protocol'];
    if (protocols) {
      for (const protocol of protocols.split(headerValueSplit)) {
        const lower = protocol.toLocaleLowerCase();
        this.requestedProtocols.push(lower);
        this.protocolFullCaseMap[lower] = protocol;
      }
    }

    const forwardedFor = headers['x-forwarded-for'];
    if (!this.serverConfig.ignoreXForwardedFor && forwardedFor) {
      const peer = this.remoteAddress;
      this.remoteAddresses = forwardedFor.split(xForwardedForSeparator);
      this.remoteAddresses.push(peer);
      this.remoteAddress = this.remoteAddresses[0];
    }

    this.requestedExtensions = this.serverConfig.parseExtensions
      ? this.parseExtensions(headers['sec-websocket-extensions'])
      : [];
    this.cookies = this.serverConfig.parseCookies ? this.parseCookies(headers.cookie) : [];
  }

  /** Parses a `Sec-WebSocket-Extensions` value into [{ name, params }]. */
  parseExtensions(header) {
    return parseExtensions(header);
  }

  /** Parses a `Cookie` value into [{ name, value }]. */
  parseCookies(header) {
    return parseCookies(header);
  }

  /**
   * Completes the handshake and returns the connection. Throws, after answering 500, when
   * `acceptedProtocol` was not requested or a cookie is invalid; throws when already resolved.
   * @param {string|null} [acceptedProtocol] one of `requestedProtocols` (echoed in the client's case)
   * @param {string|null} [allowedOrigin] sent back in the `Origin` header
   * @param {Array<object>} [cookies] `{ name, value, path, domain, expires, maxage, secure, httponly }`
   * @returns {WebSocketConnection}
   */
  accept(acceptedProtocol, allowedOrigin, cookies) {
    this._verifyResolution();
    const lines = this._responseLines(acceptedProtocol, allowedOrigin, cookies);
    this._resolved = true;
    this.emit('requestResolved', this);

    const connection = new WebSocketConnection(this._addresses, NO_EXTENSIONS, acceptedProtocol, false, this.serverConfig);
    connection.webSocketVersion = this.webSocketVersion;
    connection.remoteAddress = this.remoteAddress;
    connection.remoteAddresses = this.remoteAddresses;
    this._removeSocketCloseListeners();
    if (this._socketIsClosing) this._socket.destroy();
    this._engine ??= standaloneEngine(this.serverConfig);
    const engineConnection = this._socketIsClosing ? null : this._handOff(lines.protocol, lines.headers);
    if (engineConnection) {
      connection._attach(this._engine, engineConnection);
    } else {
      // The package's answer to a client that hung up first: a 'close' right after 'connect'.
      process.nextTick(() => connection.drop(1006, 'TCP connection lost before handshake completed.', true));
    }
    this.emit('requestAccepted', connection);
    return connection;
  }

  /** The subprotocol (client's case) and header lines of the 101; rejects with 500 and throws if invalid. */
  _responseLines(acceptedProtocol, allowedOrigin, cookies) {
    let protocol = acceptedProtocol;
    if (acceptedProtocol) {
      const fullCase = this.protocolFullCaseMap[String(acceptedProtocol).toLocaleLowerCase()];
      if (fullCase !== undefined) protocol = fullCase;
    }
    this.protocolFullCaseMap = null;
    const headers = [];
    try {
      if (protocol) {
        checkProtocolToken(protocol);
        if (this.requestedProtocols.indexOf(acceptedProtocol) === -1) {
          throw new Error('Specified protocol was not requested by the client.');
        }
        protocol = sanitize(protocol);
      }
      this.requestedProtocols = null;
      if (allowedOrigin) {
        const name = this.webSocketVersion === 13 ? 'Origin' : 'Sec-WebSocket-Origin';
        headers.push(name + ': ' + sanitize(allowedOrigin));
      }
      if (cookies) headers.push(...cookieLines(cookies));
    } catch (err) {
      this.reject(500);
      throw err;
    }
    return { protocol: protocol || undefined, headers };
  }

  /**
   * Moves the connection into the engine (the intake's descriptor as it is, while it has no
   * net.Socket); null when that is impossible (the socket is gone).
   */
  _handOff(protocol, headers) {
    if (this._socket === null) {
      const connection = this._engine.acceptHead(this._early.arrival, { protocol, lines: headers });
      this._handedOff = connection;
      // Not taken as it is (out of descriptors, say): the usual handoff, or the bridge.
      if (connection !== null) return connection;
    }
    const socket = this.socket;
    if (socket.destroyed) return null;
    try {
      return this._engine.accept(socket, this._head, this.key, protocol, headers);
    } catch {
      socket.destroy();
      return null;
    }
  }

  /**
   * Refuses the request.
   * @param {number} [status=403]
   * @param {string} [reason] sent as `X-WebSocket-Reject-Reason`
   * @param {object} [extraHeaders] header name → value
   */
  reject(status, reason, extraHeaders) {
    this._verifyResolution();
    this._resolved = true;
    this.emit('requestResolved', this);
    if (typeof status !== 'number') status = 403;
    this._removeSocketCloseListeners();
    reject(this.socket, status, reason, extraHeaders);
    this.emit('requestRejected', this);
  }

  _removeSocketCloseListeners() {
    if (this._socket === null) return;
    this._socket.removeListener('end', this._socketCloseHandler);
    this._socket.removeListener('close', this._socketCloseHandler);
  }

  _verifyResolution() {
    if (this._resolved) throw new Error('WebSocketRequest may only be accepted or rejected one time.');
  }
}

module.exports = { WebSocketRequest };
