'use strict';

// Does the server's memory come back after connections have come and gone? Runs CYCLES rounds
// of 500 connections to a ferrows server (permessage-deflate on unless DEFLATE=0): each sends
// one compressible 4 KB message, waits for the echo, and closes. After each round the server
// runs a full GC and reports RSS and live heap; a leak shows as a rise that does not level off.
//
//   node bench/cycles.js            # 120 rounds (60,000 connections), deflate on
//   DEFLATE=0 CYCLES=40 node bench/cycles.js

const http = require('http');
const path = require('path');
const { fork } = require('child_process');

const CYCLES = Number(process.env.CYCLES || 120);
const PER_CYCLE = 500;

if (process.argv[2] === 'server') {
  const { attach } = require(path.join(__dirname, '..'));
  const server = http.createServer((req, res) => {
    global.gc();
    const { rss, heapUsed } = process.memoryUsage();
    res.end(JSON.stringify({ rss, heapUsed }));
  });
  const wss = attach(server, { perMessageDeflate: process.env.DEFLATE !== '0' });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
  process.on('disconnect', () => process.exit(0));
} else {
  const WebSocket = require('ws');
  const child = fork(__filename, ['server'], { execArgv: ['--expose-gc'] });
  child.once('message', async (port) => {
    const items = Array.from({ length: 60 }, (_, i) => ({ id: i, name: `user ${i}`, text: 'hello there' }));
    const message = JSON.stringify({ items }).slice(0, 4096);
    const memory = () =>
      new Promise((resolve) =>
        http.get({ port, host: '127.0.0.1', path: '/' }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(JSON.parse(body)));
        })
      );
    const round = () =>
      Promise.all(
        Array.from(
          { length: PER_CYCLE },
          () =>
            new Promise((resolve, reject) => {
              const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
              ws.on('open', () => ws.send(message));
              ws.on('message', () => ws.close());
              ws.on('close', resolve);
              ws.on('error', reject);
            })
        )
      );
    const mib = (n) => (n / 1048576).toFixed(1);
    for (let i = 1; i <= CYCLES; i++) {
      await round();
      const { rss, heapUsed } = await memory();
      if (i === 1 || i % 10 === 0) console.log(`${i * PER_CYCLE} connections: RSS ${mib(rss)} MiB, live heap ${mib(heapUsed)} MiB`);
    }
    child.kill();
  });
}
