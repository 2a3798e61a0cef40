'use strict';

// The bench app for the `websocket` package's server API, shared by the package and ferrows's
// drop-in face. Broadcast follows the package's documented chat example: keep a `clients`
// array and forward every message to each with sendUTF / sendBytes. Rooms keep one such array
// per path (the package has no topics).

const http = require('http');
const { mode, deflate, listen, unavailable } = require('../contract');

function run(WebSocketServer) {
  if (deflate) unavailable('the websocket package has no permessage-deflate');
  const server = http.createServer();
  const wsServer = new WebSocketServer({ httpServer: server, autoAcceptConnections: false });
  // Broadcast mode keeps everyone in the one room ''.
  const rooms = new Map();

  wsServer.on('request', (request) => {
    const connection = request.accept(null, request.origin);
    const room = mode === 'rooms' ? request.resource : '';
    let clients = rooms.get(room);
    if (!clients) rooms.set(room, (clients = []));
    clients.push(connection);
    connection.on('error', () => {});
    connection.on('close', () => {
      const index = clients.indexOf(connection);
      if (index !== -1) clients.splice(index, 1);
    });
    connection.on('message', (message) => {
      const text = message.type === 'utf8';
      const targets = mode === 'echo' ? [connection] : clients;
      for (const client of targets) {
        if (text) client.sendUTF(message.utf8Data);
        else client.sendBytes(message.binaryData);
      }
    });
  });

  listen(server);
}

module.exports = { run };
