'use strict';

// The server Autobahn|Testsuite fuzzes: echoes every message with its type, accepts up to
// 16 MiB (the 9.* cases send that much), with permessage-deflate on (the 12.* and 13.* cases).
// Prints "ready <port>" once listening on 127.0.0.1.

const http = require('http');
const { attach } = require('..');

const server = http.createServer();
const wss = attach(server, {
  maxPayload: 16 * 1024 * 1024,
  maxBackpressure: 64 * 1024 * 1024,
  highWaterMark: 16 * 1024 * 1024,
  perMessageDeflate: true,
});
wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));

server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  console.log(`ready ${server.address().port}`);
});

function stop() {
  wss.close().then(() => server.close(() => process.exit(0)));
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
