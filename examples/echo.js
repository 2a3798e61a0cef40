'use strict';

// Echo server on the native face: every message comes back as it came, text as text and
// binary as binary.
//   PORT=8080 node examples/echo.js   then   connect to ws://127.0.0.1:8080/

const http = require('http');
const { attach } = require('ferrows');

const server = http.createServer((req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end('This is a WebSocket echo server; connect with a WebSocket client.\n');
});
const wss = attach(server);

wss.on('connection', (ws, req) => {
  ws.on('message', (data, isBinary) => {
    // data is a string for text and a Buffer for binary, so send() keeps the frame type.
    ws.send(data);
  });
  ws.on('close', (code) => console.log(`echo: ${req.socket.remoteAddress} closed (${code})`));
});

server.listen(Number(process.env.PORT || 8080), '127.0.0.1', () => {
  console.log(`echo: listening on ws://127.0.0.1:${server.address().port}/`);
});
