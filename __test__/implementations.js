'use strict';

// The five servers a migrating app compares, behind one small shape, so that one scenario runs
// against ferrows's three faces and the two packages they replace, with default options:
//   listen(httpServer, onConnection) → { broadcastLoop(data, n), stop() }
//   onConnection(conn), conn = { send(data), onMessage(fn(data)) }, data a string or a Buffer.

const WS = require('ws');
const WebSocketNode = require('websocket');
const ferrows = require('..');

/** A `websocket`-package connection (the package's or the face's) in the common shape. */
function websocketConn(connection) {
  return {
    send: (data) => (Buffer.isBuffer(data) ? connection.sendBytes(data) : connection.sendUTF(data)),
    onMessage: (fn) => connection.on('message', (m) => fn(m.type === 'utf8' ? m.utf8Data : m.binaryData)),
  };
}

/** A `ws`-style socket (ws's, ferrows's ws face or its native face) in the common shape. */
function wsConn(ws) {
  return { send: (data) => ws.send(data), onMessage: (fn) => ws.on('message', (data) => fn(data)) };
}

function wsServer(Server) {
  return (httpServer, onConnection) => {
    const wss = new Server({ server: httpServer });
    wss.on('connection', (ws) => onConnection(wsConn(ws)));
    return {
      broadcastLoop(data, n) {
        for (let i = 0; i < n; i++) for (const client of wss.clients) client.send(data);
      },
      stop() {
        for (const client of wss.clients) client.terminate();
        return new Promise((resolve) => wss.close(() => resolve()));
      },
    };
  };
}

function websocketServer(Server) {
  return (httpServer, onConnection) => {
    const server = new Server({ httpServer, autoAcceptConnections: false });
    server.on('request', (request) => onConnection(websocketConn(request.accept(null, request.origin))));
    return {
      broadcastLoop(data, n) {
        for (let i = 0; i < n; i++) for (const connection of server.connections) connection.sendBytes(data);
      },
      stop() {
        for (const connection of server.connections.slice()) connection.drop();
        server.unmount();
      },
    };
  };
}

const IMPLEMENTATIONS = {
  'ferrows native face': (httpServer, onConnection) => {
    const wss = ferrows.attach(httpServer);
    wss.on('connection', (ws) => onConnection(wsConn(ws)));
    return {
      broadcastLoop(data, n) {
        for (let i = 0; i < n; i++) wss.broadcast(data);
      },
      stop() {
        for (const ws of wss.clients) ws.terminate();
        return wss.close();
      },
    };
  },
  'ferrows ws face': wsServer(ferrows.WebSocketServer),
  'ferrows websocket face': websocketServer(ferrows.server),
  ws: wsServer(WS.WebSocketServer),
  websocket: websocketServer(WebSocketNode.server),
};

/** The names of ferrows's faces only. */
const FACES = Object.keys(IMPLEMENTATIONS).filter((name) => name.startsWith('ferrows'));

module.exports = { IMPLEMENTATIONS, FACES };
