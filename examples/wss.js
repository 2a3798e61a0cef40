'use strict';

// wss:// on an https.Server: the same attach() as over http; ferrows bridges the TLS socket's
// bytes to the engine.
//   TLS_CERT=cert.pem TLS_KEY=key.pem PORT=8443 node examples/wss.js
// Without TLS_CERT/TLS_KEY it uses the self-signed test certificate (localhost, 127.0.0.1), which
// clients must be told to trust (e.g. `ws`'s rejectUnauthorized: false) - never in production.

const fs = require('fs');
const https = require('https');
const path = require('path');
const { attach } = require('ferrows');

const fixtures = path.join(__dirname, '..', '__test__', 'fixtures');
const certFile = process.env.TLS_CERT || path.join(fixtures, 'cert.pem');
const keyFile = process.env.TLS_KEY || path.join(fixtures, 'key.pem');

const server = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, (req, res) => {
  res.end('wss example: connect with a WebSocket client\n');
});
const wss = attach(server);

wss.on('connection', (ws) => {
  ws.send('hello over TLS');
  ws.on('message', (data) => ws.send(data));
});

server.listen(Number(process.env.PORT || 8443), '127.0.0.1', () => {
  const note = process.env.TLS_CERT ? '' : ' (self-signed test certificate)';
  console.log(`wss: listening on wss://127.0.0.1:${server.address().port}/${note}`);
});
