'use strict';

// `connection.socket`: the Rust engine owns the TCP connection, so applications get a small
// stand-in with the net.Socket members they commonly touch, acting on the connection. It is an
// EventEmitter whose 'close' comes when the connection has ended, just before the connection's
// own (after it when drop() reported that at once), as the package's socket's does.

const EventEmitter = require('events');

class SocketFacade {
  /**
   * @param {import('net').Socket} socket the socket before the handoff (for its addresses)
   * @param {object} connection the WebSocketConnection it stands for
   */
  constructor(socket, connection) {
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.remoteFamily = socket.remoteFamily;
    this.localAddress = socket.localAddress;
    this.localPort = socket.localPort;
    this.encrypted = Boolean(socket.encrypted);
    this._connection = connection;
  }

  /** A no-op: keepalive is the engine's (see the `keepalive*` config options). */
  setKeepAlive() {
    return this;
  }

  /** A no-op: Nagle is set by `disableNagleAlgorithm` when the engine takes the socket. */
  setNoDelay() {
    return this;
  }

  /** A no-op: the engine has no inactivity timeout on WebSocket sockets. */
  setTimeout() {
    return this;
  }

  pause() {
    this._connection.pause();
    return this;
  }

  resume() {
    this._connection.resume();
    return this;
  }

  /** Closes the connection without a close frame. */
  destroy() {
    this._connection._terminate();
    return this;
  }

  /** Starts the closing handshake (1000). */
  end() {
    this._connection.close();
    return this;
  }

  /** Whether the connection has ended. */
  get destroyed() {
    return this._connection.state === 'closed';
  }

  /** The connection has ended: the socket's 'close' (`hadError` false). */
  _closed() {
    this.emit('close', false);
  }
}

// EventEmitter's methods without its constructor: a connection's facade holds no listener table
// until the application adds a listener (EventEmitter makes one then).
Object.setPrototypeOf(SocketFacade.prototype, EventEmitter.prototype);

module.exports = { SocketFacade };
