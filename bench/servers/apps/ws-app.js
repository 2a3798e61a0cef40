'use strict';

// The bench app for `ws`'s server API, shared by the `ws` package and ferrows's drop-in face so
// both run the very same code. Broadcast is the loop `ws`'s README shows: every client, in JS.

const http = require('http');
const { mode, listen } = require('../contract');

function run(WebSocketServer) {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });

  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      if (mode === 'echo') {
        ws.send(data, { binary: isBinary });
        return;
      }
      for (const client of wss.clients) {
        if (client.readyState === 1) client.send(data, { binary: isBinary });
      }
    });
  });

  listen(server);
}

module.exports = { run };
