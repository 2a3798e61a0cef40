'use strict';

// The Rust-first intake: on a plain TCP http.Server, ferrows sees each new connection before
// Node's HTTP parser does. When the client's first bytes are a plain WebSocket upgrade that a
// server on this port takes without asking JavaScript (see `take`), the engine answers it and
// runs the connection: no llhttp, no IncomingMessage, no 'upgrade' event. Every other
// connection, and every upgrade the engine leaves, goes to Node's own connection listener with
// its bytes put back, so HTTP, keep-alive, pipelining and other libraries' 'upgrade' listeners
// see exactly what they saw before.
//
// A connection arrives one of two ways. Early: when Node accepts it and its request head is in
// the socket then or by the end of that event-loop turn, the intake looks at it there
// (`peekHead`) before Node makes a net.Socket; a connection the engine takes never becomes one,
// and one it leaves goes on to Node with its bytes unread. This is skipped while the
// application listens to the server's 'connection' event or caps `maxConnections`, which must
// see every socket. Otherwise, at the 'connection' event: the socket's first chunk of data is
// looked at, and put back when the engine leaves it.

const http = require('http');
const net = require('net');
const { peekHead, dropPeeked } = require('./native');
const { countIn, release } = require('./node-side');

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
 * The addresses of a connection, read from its libuv handle (a net.Socket's, or one Node has
 * just accepted); all undefined for a Unix socket, as net.Socket reports them.
 */
function addressesOf(handle) {
  const peer = {};
  const local = {};
  if (typeof handle.getpeername === 'function') handle.getpeername(peer);
  if (typeof handle.getsockname === 'function') handle.getsockname(local);
  return {
    remoteAddress: peer.address,
    remotePort: peer.port,
    remoteFamily: peer.family,
    localAddress: local.address,
    localPort: local.port,
    encrypted: false,
  };
}

/** The addresses of `socket` as `addressesOf` gives them. */
function socketAddresses(socket) {
  return {
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    remoteFamily: socket.remoteFamily,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    encrypted: false,
  };
}

/**
 * A connection's `socket()`: `make`, called at most once (`.made` is its result, null until
 * then), with `onError` listening to the socket it makes.
 */
function lazily(make) {
  const get = (onError) => {
    if (get.made === null) {
      get.made = make();
      if (onError) get.made.on('error', onError);
    }
    return get.made;
  };
  get.made = null;
  return get;
}

/**
 * A net.Socket over a handle `httpServer`'s listener accepted, as Node's own onconnection makes
 * it (the server's socket options, counted in its connections), without the 'connection' event:
 * its request has been read.
 */
function serverSocket(httpServer, clientHandle) {
  const socket = new net.Socket({ handle: clientHandle, allowHalfOpen: httpServer.allowHalfOpen, readable: true, writable: true });
  // The socket options apply as net's onconnection applies them: a Socket's own noDelay and
  // keepAlive options take effect only when it connects.
  if (httpServer.noDelay) socket.setNoDelay(true);
  if (httpServer.keepAlive) socket.setKeepAlive(true, httpServer.keepAliveInitialDelay);
  httpServer._connections++;
  socket.server = httpServer;
  socket._server = httpServer;
  return socket;
}

/**
 * An arrival (see `install`) at `server` on libuv handle `handle` (of `nodeSocket` when it came
 * as a net.Socket, else null), whose client sent `first`; `makeSocket` makes its net.Socket,
 * once. A net.Socket's addresses are read from it: its handle is closed once the engine has
 * taken the connection (core/node-side.js, `detach`), and the socket keeps them.
 */
function arrivalOf(server, nodeSocket, handle, first, peeked, accepted, makeSocket) {
  const addresses = nodeSocket === null ? () => addressesOf(handle) : () => socketAddresses(nodeSocket);
  return { server, nodeSocket, fd: handle.fd, first, peeked, accepted, addresses, socket: lazily(makeSocket) };
}

/** The family of a socket the listener accepted: a Pipe handle (a Unix socket's) has no getpeername. */
function familyOf(handle) {
  return typeof handle.getpeername === 'function' ? 'tcp' : 'unix';
}

/** The length of the request head at the start of `first` (all of it while its end is not in). */
function headLength(first) {
  const end = first.indexOf('\r\n\r\n');
  return end === -1 ? first.length : end + 4;
}

/**
 * Puts the intake in front of `httpServer`'s connections. `take(arrival)` returns true when a
 * server took the connection; an arrival is `{ server, nodeSocket, fd, first, peeked, accepted,
 * addresses(), socket() }` (`server` is `httpServer`), `peeked` when `first` is still in the socket, `accepted` ('tcp' or 'unix') when
 * the listener has just accepted it (a 'connection' event's socket may come from anywhere).
 * `socket(onError)` makes the connection a net.Socket after all, past the request head (a face
 * whose application needs one: it then owns the connection, and takes it). Returns the function
 * that removes the intake; null when the server is not a plain TCP http.Server (its upgrades
 * keep the usual path).
 */
function install(httpServer, take) {
  const listener = nodeListener(httpServer);
  if (listener === undefined || installed.has(httpServer)) return null;
  /**
   * Offers `arrival` to the servers; `closeNodeCopy` closes Node's side of the connection when
   * one took it (Rust holds a duplicate of the descriptor, so the socket itself stays open), and
   * also when a 'connection' listener threw, so that no descriptor is left behind.
   */
  const offer = (arrival, closeNodeCopy) => {
    // A head past Node's header limit is Node's to refuse (431), as without the intake.
    if (headLength(arrival.first) > (httpServer.maxHeaderSize ?? http.maxHeaderSize)) return false;
    let taken;
    try {
      taken = take(arrival);
    } catch (err) {
      if (arrival.socket.made === null) closeNodeCopy();
      throw err;
    }
    if (taken && arrival.socket.made === null) closeNodeCopy();
    return taken;
  };
  // Connections that have sent nothing yet: when they came, and the listeners waiting for them.
  const silent = new Map();
  // Handles the listener accepted that went on to Node before their request came: their
  // 'connection' event is the listener's own, not any socket an application emits.
  const accepted = new WeakMap();
  let sweep = null;
  const toNode = (socket, first) => {
    const waiting = silent.get(socket);
    if (waiting !== undefined) {
      silent.delete(socket);
      socket.removeListener('data', waiting.onData);
      socket.removeListener('end', waiting.onEnd);
      socket.removeListener('error', waiting.onError);
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
      socket.removeListener('error', onError);
      // Nothing more is read while the engine decides, so that `first` is all it has to take.
      handle.readStop();
      // Its socket reads again, as Node leaves an upgrade's socket: a client leaving is seen,
      // and what it sends waits in the socket's buffer.
      const arrival = arrivalOf(httpServer, socket, handle, first, false, accepted.get(handle), () => {
        socket.readableFlowing = null;
        handle.readStart();
        return socket;
      });
      // A socket the engine took is detached (core/node-side.js) and stays open until the
      // connection ends; one a listener threw before is destroyed.
      if (!offer(arrival, () => socket._handle !== null && socket.destroy())) {
        handle.readStart();
        toNode(socket, first);
      }
    };
    // A client that leaves before its request (a health check's connect and close, a browser's
    // unused preconnect) is Node's: what its listener would have done at that moment is done
    // now, as it would have been had it listened from the start.
    const onEnd = () => {
      toNode(socket);
      // Node's end of a connection with no request: its socketOnEnd ends the socket too.
      if (socket.writable) socket.end();
    };
    const onError = (err) => {
      toNode(socket);
      // Node's socketOnError ('clientError', else the socket destroyed), which the listener
      // just added, sees the error it missed.
      socket.emit('error', err);
    };
    silent.set(socket, { since: Date.now(), onData, onEnd, onError });
    socket.once('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onError);
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
  // Early arrivals, at the listening handle (a new one on every listen()): true when a server
  // took the connection, false when it goes to Node, null when its request head is not in yet.
  const early = (clientHandle) => {
    if (httpServer.listenerCount('connection') !== 1 || httpServer.maxConnections !== undefined) return false;
    const fd = clientHandle.fd;
    if (typeof fd !== 'number' || fd < 0) return false;
    const first = peekHead(fd);
    if (first === null) return null;
    const arrival = arrivalOf(httpServer, null, clientHandle, first, true, familyOf(clientHandle), () => {
      try {
        dropPeeked(fd, first.length);
      } catch {
        // The client is gone: the socket will show it.
      }
      return serverSocket(httpServer, clientHandle);
    });
    return offer(arrival, () => clientHandle.close());
  };
  let hooked = null;
  const unhook = () => {
    if (hooked !== null && hooked.handle.onconnection === hooked.onconnection) hooked.handle.onconnection = hooked.original;
    hooked = null;
  };
  const hook = () => {
    unhook();
    const handle = httpServer._handle;
    if (!handle || typeof handle.onconnection !== 'function') return;
    const original = handle.onconnection;
    const onconnection = function (err, clientHandle) {
      if (err || !clientHandle) return original.call(this, err, clientHandle);
      const toNodeSocket = () => {
        accepted.set(clientHandle, familyOf(clientHandle));
        original.call(this, 0, clientHandle);
      };
      const taken = early(clientHandle);
      if (taken === null) {
        // The client writes its request as soon as it is connected: by the end of this turn of
        // the event loop it is usually in (under churn, most of the misses). One more look
        // then, and the connection goes on to Node either way. Meanwhile it counts among the
        // server's connections, as Node's socket for it would: a close() in between waits.
        countIn(httpServer);
        setImmediate(() => {
          try {
            if (early(clientHandle) !== true) toNodeSocket();
          } finally {
            // Taken or Node's, it is counted on its own by now (unless application code threw).
            release(httpServer);
          }
        });
      } else if (!taken) {
        toNodeSocket();
      }
      return undefined;
    };
    handle.onconnection = onconnection;
    hooked = { handle, original, onconnection };
  };
  httpServer.removeListener('connection', listener);
  httpServer.on('connection', onConnection);
  httpServer.on('listening', hook);
  if (httpServer.listening) hook();
  installed.set(httpServer, onConnection);
  return () => {
    httpServer.removeListener('connection', onConnection);
    httpServer.removeListener('listening', hook);
    unhook();
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
