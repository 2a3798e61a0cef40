'use strict';

// ferrows, native face (`attach`). A JavaScript handler sees every message: in echo mode it
// sends it back; in broadcast mode it calls wss.broadcast, and in rooms mode wss.publish to the
// topic the client subscribed to on connection (its path); both frame the payload once and fan
// it out in Rust. Options are the defaults: the loadgen keeps queues far below them.

const http = require('http');
const { mode, listen } = require('./contract');
const { attach } = require('../..');

const server = http.createServer();
const wss = attach(server);

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
