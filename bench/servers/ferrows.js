'use strict';

// ferrows, native face (`attach`). A JavaScript handler sees every message: in echo mode it
// sends it back; in broadcast mode it calls wss.broadcast, which frames the payload once and
// fans it out in Rust. Options are the defaults: the loadgen keeps queues far below them.

const http = require('http');
const { mode, listen } = require('./contract');
const { attach } = require('../..');

const server = http.createServer();
const wss = attach(server);

wss.on('connection', (ws) => {
  ws.on('error', () => {}); // a client going away mid-run is not worth a log line here
  if (mode === 'echo') {
    ws.on('message', (data) => ws.send(data));
  } else {
    ws.on('message', (data) => wss.broadcast(data));
  }
});

listen(server);
