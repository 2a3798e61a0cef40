'use strict';

// One 'upgrade' listener per http.Server, shared by every native-face and websocket-face server
// attached to it, so that several paths can live on one port and a request no server wants gets
// a 400 unless the application listens for upgrades itself; and, on a plain TCP server, the
// Rust-first intake (core/intake.js) in front of its connections, offered to those servers by
// the same rule and then to the `ws` face's servers, which keep their own 'upgrade' listeners
// (as `ws` does).

const { reject } = require('./handshake');
const intake = require('./intake');
const { IntakeRequest } = require('./intake-request');

const routes = new WeakMap();

/** The routing state of `httpServer`, made (with its intake) on first use. */
function routing(httpServer) {
  let state = routes.get(httpServer);
  if (state !== undefined) return state;
  state = { servers: new Set(), others: new Set(), listener: null, removeIntake: null };
  // A connection goes to the first server whose path matches, as upgrades do; that server
  // takes it, or leaves it to Node's parser and the 'upgrade' event.
  state.removeIntake = intake.install(httpServer, (arrival) => {
    if (intake.getTarget(arrival.first) === undefined) return false;
    // The light request, parsed when read: a `shouldHandle` of the application's may read its
    // headers (a virtual host's), as it reads an IncomingMessage's on Node's path.
    const req = new IntakeRequest(arrival.first);
    for (const s of state.servers) {
      if (s.shouldHandle(req)) return s._intake(arrival, httpServer);
    }
    for (const s of state.others) if (s._intake(arrival)) return true;
    return false;
  });
  routes.set(httpServer, state);
  return state;
}

/** Forgets `wss`; the last one leaving takes the listener and the intake away. */
function leave(httpServer, state, set, wss) {
  set.delete(wss);
  if (state.servers.size === 0 && state.listener !== null) {
    httpServer.removeListener('upgrade', state.listener);
    state.listener = null;
  }
  if (state.servers.size === 0 && state.others.size === 0 && routes.get(httpServer) === state) {
    if (state.removeIntake) state.removeIntake();
    routes.delete(httpServer);
  }
}

/**
 * Routes `httpServer`'s upgrade requests to `wss` when `wss.shouldHandle(req)`.
 * @returns {() => void} detaches `wss`
 */
function route(httpServer, wss) {
  const state = routing(httpServer);
  if (state.listener === null) {
    state.listener = (req, socket, head) => {
      for (const s of state.servers) {
        if (s.shouldHandle(req)) return s.handleUpgrade(req, socket, head);
      }
      if (httpServer.listenerCount('upgrade') === 1) reject(socket, 400, 'No WebSocket endpoint at this path');
    };
    httpServer.on('upgrade', state.listener);
  }
  state.servers.add(wss);
  return () => leave(httpServer, state, state.servers, wss);
}

/**
 * Offers `wss` (a server with its own 'upgrade' listener) the connections the intake sees:
 * `wss._intake(arrival)` takes one or leaves it to Node.
 * @returns {() => void} detaches `wss`
 */
function offer(httpServer, wss) {
  const state = routing(httpServer);
  state.others.add(wss);
  return () => leave(httpServer, state, state.others, wss);
}

module.exports = { route, offer };
