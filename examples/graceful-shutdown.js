'use strict';

// Graceful shutdown: on SIGINT or SIGTERM, stop taking upgrades, close every connection with
// 1001 (Going Away) and wait for the close handshakes, then close the http server and exit 0.
//   PORT=8080 node examples/graceful-shutdown.js   then Ctrl-C

const http = require('http');
const { attach } = require('ferrows');

const server = http.createServer((req, res) => res.end('ok\n'));
const wss = attach(server, { closeTimeout: 2000 });

wss.on('connection', (ws) => {
  ws.send('connected; the server will say goodbye with 1001 when it stops');
  ws.on('message', (data) => ws.send(data));
});

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`graceful-shutdown: ${signal}, closing ${wss.clients.size} connection(s)`);
  // Bounded by closeTimeout per connection; the fallback covers a stuck HTTP request.
  const guard = setTimeout(() => {
    console.error('graceful-shutdown: timed out');
    process.exit(1);
  }, 10000);
  guard.unref();
  await wss.close();
  await new Promise((resolve) => {
    server.close(resolve);
    // Keep-alive connections with no request in flight would otherwise hold close() open.
    if (server.closeIdleConnections) server.closeIdleConnections();
  });
  // Nothing is left holding the event loop: Node exits with code 0 on its own.
  console.log('graceful-shutdown: closed');
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

server.listen(Number(process.env.PORT || 8080), '127.0.0.1', () => {
  console.log(`graceful-shutdown: listening on ws://127.0.0.1:${server.address().port}/ (Ctrl-C to stop)`);
});
