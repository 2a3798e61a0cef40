'use strict';

// `ws._socket` where the engine owns the socket: code written for ws reads the peer's address
// from it, sets socket options on it, and ws's own `createWebSocketStream` waits for its
// 'finish'. Made on first read only (an idle connection holds none).

const EventEmitter = require('events');

class SocketStandIn extends EventEmitter {
  /**
   * @param {object | null} addresses the engine's `addresses(connection)`, null once closing
   * @param {import('./socket').WsSocket} ws the connection it stands for
   */
  constructor(addresses, ws) {
    super();
    this.remoteAddress = addresses?.remoteAddress;
    this.remotePort = addresses?.remotePort;
    this.remoteFamily = addresses?.remoteFamily;
    this.localAddress = addresses?.localAddress;
    this.localPort = addresses?.localPort;
    this.encrypted = false;
    this._ws = ws;
    // What ws's createWebSocketStream reads: finished once the connection has closed.
    this._writableState = { finished: ws.readyState === ws.CLOSED };
  }

  /**
   * The connection closed: 'finish' and 'close', which ws's socket emits before its WebSocket's
   * 'close' (the connection calls this first, so a stream over it ends as it does over ws).
   */
  _finish() {
    this._writableState.finished = true;
    this.emit('finish');
    this.emit('close', false);
  }

  pause() {
    this._ws.pause();
    return this;
  }

  resume() {
    this._ws.resume();
    return this;
  }

  /** Cuts the connection, as destroying ws's socket does. */
  destroy() {
    this._ws.terminate();
    return this;
  }

  /** Starts the closing handshake. */
  end() {
    this._ws.close();
    return this;
  }
}

// Options the engine sets itself (TCP_NODELAY when the server's noDelay says so) or has no use
// for: accepted and ignored, as chainable as net.Socket's.
for (const name of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) {
  SocketStandIn.prototype[name] = function chainable() {
    return this;
  };
}

module.exports = { SocketStandIn };
