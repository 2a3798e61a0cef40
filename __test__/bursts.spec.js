'use strict';

// A burst is not slowness (issue #13): a client that reads gets every byte of any burst the
// application sends, on every face as with `ws` and `websocket`; only a client that stops reading
// is cut, and the frames a stalled client pins are the shared ones, never copies.

const http = require('http');
const crypto = require('crypto');
const { attach } = require('..');
const { IMPLEMENTATIONS } = require('./implementations');
const { once, until, connect, rawClient, upgradeRequest, readResponse } = require('./helpers');

let stops = [];

afterEach(async () => {
  for (const stop of stops.reverse()) await stop();
  stops = [];
});

/** `implementation` on a fresh http server on 127.0.0.1; resolves with its URL and server. */
async function serve(implementation, onConnection) {
  const httpServer = http.createServer();
  const server = implementation(httpServer, onConnection);
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address();
  stops.push(async () => {
    await server.stop();
    httpServer.closeAllConnections();
    await new Promise((resolve) => httpServer.close(resolve));
  });
  return { server, port, url: `ws://127.0.0.1:${port}/` };
}

/** A `ws` client that counts the messages and bytes it receives, and hashes them in order. */
async function reader(url) {
  const client = await connect(url, undefined, { maxPayload: 256 * 1024 * 1024 });
  const stats = { messages: 0, bytes: 0, hash: crypto.createHash('sha1') };
  client.on('message', (data) => {
    stats.messages += 1;
    stats.bytes += data.length;
    stats.hash.update(data);
  });
  stops.push(() => client.terminate());
  return { client, stats };
}

/** A raw client that completes the upgrade and then never reads again. */
async function stalled(port) {
  const socket = rawClient({ port, secure: false });
  socket.write(upgradeRequest('/'));
  await readResponse(socket);
  socket.pause();
  stops.push(() => socket.destroy());
  return socket;
}

/** The SHA-1 of `n` copies of `chunk`. */
function digest(chunk, n) {
  const hash = crypto.createHash('sha1');
  for (let i = 0; i < n; i++) hash.update(chunk);
  return hash.digest('hex');
}

describe.each(Object.keys(IMPLEMENTATIONS))('%s', (name) => {
  const implementation = IMPLEMENTATIONS[name];

  it('delivers one 20 MB message to a client on loopback', async () => {
    const big = crypto.randomBytes(20 * 1024 * 1024);
    const { url } = await serve(implementation, (conn) => conn.onMessage(() => conn.send(big)));
    const { client, stats } = await reader(url);
    client.send('go');
    await until(() => stats.messages === 1, 15000, 'the 20 MB message');
    expect(stats.bytes).toBe(big.length);
    expect(stats.hash.digest('hex')).toBe(crypto.createHash('sha1').update(big).digest('hex'));
  });

  it('delivers 2,000 messages of 64 KiB sent in one loop to a fast client, in order', async () => {
    const chunks = Array.from({ length: 2000 }, (_, i) => Buffer.alloc(64 * 1024, i % 251));
    const { url } = await serve(implementation, (conn) =>
      conn.onMessage(() => {
        for (const chunk of chunks) conn.send(chunk);
      })
    );
    const { client, stats } = await reader(url);
    client.send('go');
    await until(() => stats.messages === 2000, 15000, '2,000 messages');
    const expected = crypto.createHash('sha1');
    for (const chunk of chunks) expected.update(chunk);
    expect(stats.hash.digest('hex')).toBe(expected.digest('hex'));
  });

  it('delivers a 100 MB broadcast loop to a fast client while another client has stopped reading', async () => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    let ready = null;
    const { server, url, port } = await serve(implementation, () => ready?.());
    const connected = (n) => {
      let count = 0;
      return new Promise((resolve) => {
        ready = () => ++count === n && resolve();
      });
    };
    const both = connected(2);
    await stalled(port);
    const { stats } = await reader(url);
    await both;
    server.broadcastLoop(chunk, 1600);
    await until(() => stats.messages === 1600, 20000, '1,600 broadcast messages');
    expect(stats.hash.digest('hex')).toBe(digest(chunk, 1600));
  });
});

describe('a stalled client', () => {
  it('pins the shared broadcast frames, not a copy per client', async () => {
    const httpServer = http.createServer();
    // No cut during the test: what is measured is what the stalled clients hold.
    const wss = attach(httpServer, { sendTimeout: 60_000 });
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    stops.push(async () => {
      for (const ws of wss.clients) ws.terminate();
      await wss.close();
      await new Promise((resolve) => httpServer.close(resolve));
    });
    const { port } = httpServer.address();
    const opened = new Promise((resolve) => {
      wss.on('connection', () => wss.clients.size === 4 && resolve());
    });
    for (let i = 0; i < 4; i++) await stalled(port);
    await opened;
    const chunk = Buffer.alloc(64 * 1024, 3);
    const before = process.memoryUsage().rss;
    // 1,600 x 64 KiB = 100 MiB, broadcast to four clients that read nothing.
    for (let i = 0; i < 1600; i++) wss.broadcast(chunk);
    const [ws] = wss.clients;
    await until(() => ws.bufferedAmount > 90 * 1024 * 1024, 5000, 'the burst to be queued');
    const grown = process.memoryUsage().rss - before;
    // Shared frames: about the burst (100 MiB), far from four copies of it (400 MiB).
    expect(grown).toBeLessThan(160 * 1024 * 1024);
    for (const client of wss.clients) expect(client.readyState).toBe(client.OPEN);
  });

  it('is cut with 1008 within sendTimeout while a reading client keeps everything', async () => {
    const httpServer = http.createServer();
    const wss = attach(httpServer, { maxBackpressure: 1024 * 1024, sendTimeout: 400, closeTimeout: 500 });
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    stops.push(async () => {
      await wss.close();
      await new Promise((resolve) => httpServer.close(resolve));
    });
    const { port } = httpServer.address();
    const sockets = [];
    wss.on('connection', (ws) => sockets.push(ws));
    await stalled(port);
    const { stats } = await reader(`ws://127.0.0.1:${port}/`);
    await until(() => sockets.length === 2, 5000, 'two connections');
    const [slow] = sockets;
    const cut = once(slow, 'close', 10000);
    const chunk = Buffer.alloc(64 * 1024, 9);
    const started = Date.now();
    for (let i = 0; i < 512; i++) wss.broadcast(chunk);
    const [code] = await cut;
    expect(code).toBe(1008);
    // The bound: sendTimeout after the socket stopped taking bytes, plus the close timeout.
    expect(Date.now() - started).toBeLessThan(400 + 500 + 2000);
    await until(() => stats.messages === 512, 10000, 'every message on the reading client');
  });
});
