'use strict';

// The Rust-first intake: on a plain TCP http.Server, ferrows sees each new connection before
// Node's HTTP parser does. When the client's first bytes are a plain WebSocket upgrade that a
// server on this port takes without asking JavaScript (see `take`), the engine answers it and
// runs the connection: no llhttp, no IncomingMessage, no 'upgrade' event. Every other
// connection, and every upgrade the engine leaves, goes to Node's own connection listener with
// its bytes put back, so HTTP, keep-alive, pipelining and other libraries' 'upgrade' listeners
// see exactly what they saw before.

/** How long a connection may stay silent before it goes to Node (and Node's timeouts). */
const SILENT_MS = 2000;
/** How often silent connections are looked at: one timer for all of them, not one each. */
const SWEEP_MS = 250;

const installed = new WeakMap();

/** Node's own 'connection' listener of an http.Server (none on TLS servers: they get sockets on 'secureConnection'). */
function nodeListener(httpServer) {
  return httpServer.listeners('connection').find((fn) => fn.name === 'connectionListener');
}

/**
 * Puts the intake in front of `httpServer`'s connections; `take(socket, first)` returns true
 * when it took the connection. Returns the function that removes it; null when the server is
 * not a plain TCP http.Server (its upgrades keep the usual path).
 */
function install(httpServer, take) {
  const listener = nodeListener(httpServer);
  if (listener === undefined || installed.has(httpServer)) return null;
  // Connections that have sent nothing yet: when they came, and the listeners waiting for them.
  const silent = new Map();
  let sweep = null;
  const toNode = (socket, first) => {
    const waiting = silent.get(socket);
    if (waiting !== undefined) {
      silent.delete(socket);
      socket.removeListener('data', waiting.onData);
      socket.removeListener('end', waiting.onEnd);
    }
    if (first !== undefined) {
      socket.pause();
      socket.unshift(first);
    }
    listener.call(httpServer, socket);
    if (first !== undefined) socket.resume();
  };
  const onConnection = (socket) => {
    const handle = socket._handle;
    if (!handle || typeof handle.fd !== 'number' || handle.fd < 0) return toNode(socket);
    const onData = (first) => {
      silent.delete(socket);
      socket.removeListener('end', onEnd);
      if (!take(socket, first)) toNode(socket, first);
    };
    const onEnd = () => toNode(socket);
    silent.set(socket, { since: Date.now(), onData, onEnd });
    socket.once('data', onData);
    socket.once('end', onEnd);
    if (sweep === null) {
      sweep = setInterval(() => {
        const now = Date.now();
        for (const [s, { since }] of silent) if (now - since >= SILENT_MS) toNode(s);
        if (silent.size === 0) {
          clearInterval(sweep);
          sweep = null;
        }
      }, SWEEP_MS);
      sweep.unref();
    }
  };
  httpServer.removeListener('connection', listener);
  httpServer.on('connection', onConnection);
  installed.set(httpServer, onConnection);
  return () => {
    httpServer.removeListener('connection', onConnection);
    httpServer.on('connection', listener);
    installed.delete(httpServer);
    for (const socket of silent.keys()) toNode(socket);
    if (sweep !== null) clearInterval(sweep);
  };
}

/** The request target of `first` when it starts a GET request line, else undefined. */
function getTarget(first) {
  if (first.length < 16 || first[0] !== 0x47 || first[1] !== 0x45 || first[2] !== 0x54 || first[3] !== 0x20) return undefined;
  const end = first.indexOf(0x20, 4);
  return end === -1 ? undefined : first.latin1Slice(4, end);
}

module.exports = { install, getTarget };
