'use strict';

// Express and ferrows on one port: Express answers HTTP, ferrows takes the upgrades of /ws.
// attach() needs the http.Server, so create it around the app instead of calling app.listen().
//   PORT=8080 node examples/express.js

const http = require('http');
const express = require('express');
const { attach } = require('ferrows');

const app = express();
app.get('/', (req, res) => res.type('text').send('Hello from Express. WebSocket: /ws\n'));
app.get('/api/clients', (req, res) => res.json({ clients: wss.clients.size }));

const server = http.createServer(app);
const wss = attach(server, { path: '/ws' });

wss.on('connection', (ws, req) => {
  // The upgrade request shows url, headers and the peer's address (an IncomingMessage, or the
  // light request of the Rust-first intake): read query, headers or cookies from it.
  const name = new URL(req.url, 'http://localhost').searchParams.get('name') || 'stranger';
  ws.send(`hello, ${name}`);
  ws.on('message', (data) => ws.send(`you said: ${data}`));
});

server.listen(Number(process.env.PORT || 8080), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`express: listening on http://127.0.0.1:${port}/ (WebSocket at ws://127.0.0.1:${port}/ws)`);
});
