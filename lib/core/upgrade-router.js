'use strict';

// One 'upgrade' listener per http.Server, shared by every ferrows server attached to it, so
// that several paths can live on one port and a request no server wants gets a 400 unless the
// application listens for upgrades itself.

const { reject } = require('./handshake');

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
    routes.set(httpServer, servers);
  }
  servers.add(wss);
  return () => {
    servers.delete(wss);
    if (servers.size === 0 && routes.get(httpServer) === servers) {
      httpServer.removeListener('upgrade', servers.listener);
      routes.delete(httpServer);
    }
  };
}

module.exports = { route };
