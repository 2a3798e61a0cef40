#!/usr/bin/env node
'use strict';

// The websocket package's documented server, unchanged but for the require line: it accepts
// 'echo-protocol' connections from allowed origins, echoes every message, and logs closes.
//   PORT=8080 node examples/websocket-compat/server.js

const WebSocketServer = require('../..').server; // the only change: this was the 'websocket' package
const http = require('http');

const server = http.createServer(function (request, response) {
  console.log(new Date() + ' Received request for ' + request.url);
  response.writeHead(404);
  response.end();
});
server.listen(Number(process.env.PORT || 8080), '127.0.0.1', function () {
  console.log(new Date() + ' Server is listening on ws://127.0.0.1:' + server.address().port + '/');
});

const wsServer = new WebSocketServer({
  httpServer: server,
  // You should not use autoAcceptConnections for production applications, as it defeats all
  // standard cross-origin protection facilities built into the protocol and the browser. You
  // should *always* verify the connection's origin and decide whether or not to accept it.
  autoAcceptConnections: false,
});

function originIsAllowed(origin) {
  // put logic here to detect whether the specified origin is allowed.
  return true;
}

wsServer.on('request', function (request) {
  if (!originIsAllowed(request.origin)) {
    // Make sure we only accept requests from an allowed origin
    request.reject();
    console.log(new Date() + ' Connection from origin ' + request.origin + ' rejected.');
    return;
  }

  let connection;
  try {
    connection = request.accept('echo-protocol', request.origin);
  } catch (e) {
    console.log(new Date() + ' Connection rejected: ' + e.message);
    return;
  }
  console.log(new Date() + ' Connection accepted.');
  connection.on('message', function (message) {
    if (message.type === 'utf8') {
      console.log('Received Message: ' + message.utf8Data);
      connection.sendUTF(message.utf8Data);
    } else if (message.type === 'binary') {
      console.log('Received Binary Message of ' + message.binaryData.length + ' bytes');
      connection.sendBytes(message.binaryData);
    }
  });
  connection.on('close', function (reasonCode, description) {
    console.log(new Date() + ' Peer ' + connection.remoteAddress + ' disconnected: ' + reasonCode + ' ' + description);
  });
});
