#!/usr/bin/env node
'use strict';

// A chat room written for the websocket package, unchanged but for the require line: it keeps a
// `clients` array and forwards every text message to everyone with sendUTF.
//   PORT=8080 node examples/websocket-compat/chat.js

const WebSocketServer = require('../..').server; // the only change: this was the 'websocket' package
const http = require('http');

const clients = [];

const server = http.createServer(function (request, response) {
  response.writeHead(404);
  response.end();
});
server.listen(Number(process.env.PORT || 8080), '127.0.0.1', function () {
  console.log('chat: listening on ws://127.0.0.1:' + server.address().port + '/');
});

const wsServer = new WebSocketServer({ httpServer: server });

wsServer.on('request', function (request) {
  const connection = request.accept(null, request.origin);
  clients.push(connection);
  console.log('chat: ' + connection.remoteAddress + ' joined (' + clients.length + ' online)');

  connection.on('message', function (message) {
    if (message.type !== 'utf8') return;
    for (let i = 0; i < clients.length; i++) {
      clients[i].sendUTF(message.utf8Data);
    }
  });

  connection.on('close', function (reasonCode, description) {
    const index = clients.indexOf(connection);
    if (index !== -1) clients.splice(index, 1);
    console.log('chat: ' + connection.remoteAddress + ' left: ' + reasonCode + ' ' + description);
  });
});
