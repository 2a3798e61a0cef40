'use strict';

// Streams 64 MiB to every client on the native face without outrunning it: keep sending while
// ws.send() returns true, pause when it returns false, resume on 'drain', stop on 'close'.
//   PORT=8080 node examples/backpressure.js   then connect to ws://127.0.0.1:8080/
// Each client gets 1024 binary chunks of 64 KiB, then the text 'done <bytes>', then a close 1000.
// Each chunk starts with its byte offset (8 bytes, big-endian) and is filled with
// (offset / 64 KiB) % 256 after it, so a receiver can check that every byte came, in order.

const http = require('http');
const { attach } = require('ferrows');

const TOTAL = 64 * 1024 * 1024;
const CHUNK = 64 * 1024;

const server = http.createServer((req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end('This server streams 64 MiB to each WebSocket client; connect with a WebSocket client.\n');
});
// send() returns false once more than highWaterMark (1 MiB by default) is queued for a client.
// Waiting for 'drain' there keeps the server's memory per client near that bound, however slowly
// the client reads; sending regardless would queue in memory all that the client has not read.
const wss = attach(server);

function chunk(offset) {
  const buf = Buffer.alloc(CHUNK, (offset / CHUNK) % 256);
  buf.writeBigUInt64BE(BigInt(offset), 0);
  return buf;
}

wss.on('connection', (ws) => {
  const peer = `${ws.remoteAddress}:${ws.remotePort}`;
  const started = Date.now();
  let offset = 0;
  let waits = 0;
  let done = false;

  function pump() {
    while (!done && offset < TOTAL) {
      const queued = ws.send(chunk(offset));
      // false has two meanings: still open, the chunk is queued but the buffer is above the
      // high-water mark; not open, the chunk was not sent and 'close' is on its way.
      if (!queued && ws.readyState !== ws.OPEN) return;
      offset += CHUNK;
      if (!queued) {
        waits++;
        return; // 'drain' calls pump again once the queued bytes are written
      }
    }
    if (done) return;
    done = true;
    ws.off('drain', pump);
    ws.send(`done ${offset}`);
    ws.close(1000, 'done');
    console.log(`backpressure: sent ${offset} bytes to ${peer} in ${Date.now() - started} ms, waited for 'drain' ${waits} times`);
  }

  ws.on('drain', pump);
  ws.on('close', (code) => {
    ws.off('drain', pump);
    if (done) return;
    done = true;
    console.log(`backpressure: ${peer} closed (${code}) after ${offset} of ${TOTAL} bytes; stopped`);
  });
  pump();
});

server.listen(Number(process.env.PORT || 8080), '127.0.0.1', () => {
  console.log(`backpressure: listening on ws://127.0.0.1:${server.address().port}/`);
});
