'use strict';

// The bench app for `ws`'s server API, shared by the `ws` package and ferrows's drop-in face so
// both run the very same code. Broadcast is the loop `ws`'s README shows: every client, in JS;
// rooms keep a Set of clients per path, as `ws` has no topics of its own. DEFLATE=1 passes
// `perMessageDeflate: { threshold: 0 }` and leaves every other setting to the implementation
// (bench/README.md lists what each then agrees to).

const http = require('http');
const { mode, deflate, listen } = require('../contract');
const { join } = require('./rooms');

function run(WebSocketServer) {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, ...(deflate && { perMessageDeflate: { threshold: 0 } }) });
  const rooms = new Map();

  wss.on('connection', (ws, req) => {
    ws.on('error', () => {});
    if (mode === 'echo') {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      return;
    }
    const targets = mode === 'rooms' ? join(rooms, req.url, ws) : wss.clients;
    ws.on('message', (data, isBinary) => {
      for (const client of targets) {
        if (client.readyState === 1) client.send(data, { binary: isBinary });
      }
    });
  });

  listen(server);
}

module.exports = { run };
