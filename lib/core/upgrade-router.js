'use strict';

// One 'upgrade' listener per http.Server, shared by every ferrows server attached to it, so
// that several paths can live on one port and a request no server wants gets a 400 unless the
// application listens for upgrades itself; and, on a plain TCP server, the Rust-first intake
// (core/intake.js) in front of its connections, routed by the same rule.

const { reject } = require('./handshake');
const intake = require('./intake');

const routes = new WeakMap();

/**
 * Routes `httpServer`'s upgrade requests to `wss` when `wss.shouldHandle(req)`.
 * @returns {() => void} detaches `wss`
 */
function route(httpServer, wss) {
  let servers = routes.get(httpServer);
  if (servers === undefined) {
    servers = new Set();
    const onUpgrade = (req, socket, head) => {
      for (const s of servers) {
        if (s.shouldHandle(req)) return s.handleUpgrade(req, socket, head);
      }
      if (httpServer.listenerCount('upgrade') === 1) reject(socket, 400, 'No WebSocket endpoint at this path');
    };
    servers.listener = onUpgrade;
    httpServer.on('upgrade', onUpgrade);
    // A connection goes to the first server whose path matches, as upgrades do; that server
    // takes it, or leaves it to Node's parser and the 'upgrade' event (always, for a face whose
    // application decides on every request: the websocket package's 'request').
    servers.removeIntake = intake.install(httpServer, (arrival) => {
      const url = intake.getTarget(arrival.first);
      if (url === undefined) return false;
      for (const s of servers) {
        if (s.shouldHandle({ url })) return typeof s._intake === 'function' && s._intake(arrival);
      }
      return false;
    });
    routes.set(httpServer, servers);
  }
  servers.add(wss);
  return () => {
    servers.delete(wss);
    if (servers.size === 0 && routes.get(httpServer) === servers) {
      httpServer.removeListener('upgrade', servers.listener);
      if (servers.removeIntake) servers.removeIntake();
      routes.delete(httpServer);
    }
  };
}

module.exports = { route };
