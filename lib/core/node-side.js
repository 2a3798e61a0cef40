'use strict';

// What Node keeps of a connection the engine took, so that the http.Server and the application
// see it as they see an upgraded socket with ws or websocket: counted among the server's
// connections until it ends, and, when it came on a net.Socket, that socket still open until
// then. Graceful shutdowns rely on both: `server.close(cb)` waits for open connections, and
// libraries such as stoppable or http-terminator track the sockets of 'connection' and destroy
// those still open.

const net = require('net');

const kDestroy = Symbol('ferrows.nodeDestroy');

/**
 * Closes Node's copy of the descriptor of `socket`, which Rust holds a duplicate of now, and
 * keeps the socket open without it: nothing is read or written through it, and it ends (its
 * 'close', its place in the server's count) when the connection does (`release`). Its addresses
 * stay readable (ws's `req.socket.remoteAddress` in 'connection', the websocket package's
 * `request.socket`): Node caches the peer's once read, and the local ones are pinned here, as
 * are `address()` and its byte counts (what Node read and wrote: the request, and no more).
 */
function detach(socket) {
  void socket.remoteAddress;
  for (const name of ['localAddress', 'localPort', 'localFamily']) {
    const value = socket[name];
    if (value !== undefined) Object.defineProperty(socket, name, { value, configurable: true });
  }
  const handle = socket._handle;
  const address = socket.address();
  Object.defineProperty(socket, 'address', { value: () => address, configurable: true });
  for (const name of ['bytesRead', 'bytesWritten']) {
    Object.defineProperty(socket, name, { value: handle[name], configurable: true });
  }
  socket.setTimeout(0);
  socket._handle = null;
  handle.close();
}

/**
 * Makes what the application does to a detached `socket` reach `connection`, as with ws, where
 * the upgraded socket is the connection's own: destroying or ending it cuts the connection
 * (1006; engine.io refuses a handshake this way after `handleUpgrade`), and so does a write
 * (its failure destroys the socket). Returns `socket`, the connection's node side.
 */
function forwardEnds(socket, connection) {
  // A callback given last (`end(data, cb)`, `destroy(err, cb)`) runs once the cut is asked for.
  const cut = (...args) => {
    connection.terminate();
    const done = args[args.length - 1];
    if (typeof done === 'function') process.nextTick(done);
    return socket;
  };
  socket[kDestroy] = socket.destroy;
  socket.destroy = cut;
  socket.end = cut;
  return socket;
}

/**
 * Counts a connection that never became a net.Socket (the Rust-first intake took it) among
 * `server`'s connections. Returns `server`, the connection's node side, or null for none.
 */
function countIn(server) {
  if (server == null || typeof server._connections !== 'number') return null;
  server._connections += 1;
  return server;
}

/**
 * `socket`, a stand-in that shows the addresses of a connection that never became a net.Socket,
 * takes over the count of `side` when that is a server (`countIn`). Returns the connection's node
 * side from now on.
 */
function handOver(side, socket) {
  if (!(side instanceof net.Server)) return side;
  socket.server = side;
  socket._server = side;
  return socket;
}

/**
 * The connection has ended: its socket is destroyed now (Node then counts it out and emits its
 * 'close'), or the server counts it out; a server that is closing emits 'close' after its last.
 */
function release(side) {
  if (side === null) return;
  if (side instanceof net.Server) {
    side._connections -= 1;
    if (typeof side._emitCloseIfDrained === 'function') side._emitCloseIfDrained();
  } else {
    side[kDestroy]();
  }
}

module.exports = { detach, forwardEnds, countIn, handOver, release };
