'use strict';

// ferrows, native face (`attach`). A JavaScript handler sees every message: in echo mode it
// sends it back; in broadcast mode it calls wss.broadcast, and in rooms mode wss.publish to the
// topic the client subscribed to on connection (its path); both frame the payload once and fan
// it out in Rust. Options are the defaults: the loadgen keeps queues far below them. DEFLATE=1
// turns on permessage-deflate with the native face's defaults (level 1, no context takeover
// either way) but threshold 0, so every message is compressed.

const http = require('http');
const { mode, deflate, listen } = require('./contract');
const { attach } = require('../..');

const server = http.createServer();
const wss = attach(server, deflate ? { perMessageDeflate: { threshold: 0 } } : {});

wss.on('connection', (ws, req) => {
  ws.on('error', () => {}); // a client going away mid-run is not worth a log line here
  if (mode === 'echo') {
    ws.on('message', (data) => ws.send(data));
  } else if (mode === 'broadcast') {
    ws.on('message', (data) => wss.broadcast(data));
  } else {
    const room = req.url;
    ws.subscribe(room);
    ws.on('message', (data) => wss.publish(room, data));
  }
});

listen(server);
