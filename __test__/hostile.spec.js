'use strict';

const fs = require('fs');
const http = require('http');
const { attach } = require('..');
const { startServer, connect, once, until, rawClient, upgradeRequest, readResponse, frame, closeFrame, socketClosed, parseFrames } = require('./helpers');

/** Resolves with the server-side socket of a raw client that has completed the handshake. */
async function rawUpgraded(env) {
  const raw = rawClient(env);
  const conn = once(env.wss, 'connection');
  raw.write(upgradeRequest('/'));
  await readResponse(raw);
  const [ws] = await conn;
  return { raw, ws };
}

/** Checks the server still echoes for a well-behaved client. */
async function stillServes(env) {
  const client = await connect(env.url);
  client.send('still there?');
  const [reply] = await once(client, 'message');
  expect(reply.toString()).toBe('still there?');
  client.close();
}

function openFds() {
  return fs.readdirSync('/proc/self/fd').length;
}

describe('hostile clients', () => {
  let env;
  beforeEach(async () => {
    env = await startServer({ closeTimeout: 500 });
    env.wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
  });
  afterEach(() => env.stop());

  it('cuts a handshake sent one byte at a time at the http server’s headersTimeout', async () => {
    // Before the upgrade, the request belongs to Node's HTTP parser: its headersTimeout (swept
    // without per-connection timers) is the handshake deadline.
    const server = http.createServer({ headersTimeout: 1000, requestTimeout: 1500, connectionsCheckingInterval: 100 });
    const wss = attach(server);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const raw = rawClient({ port: server.address().port });
    const request = upgradeRequest('/');
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < request.length && !raw.destroyed) raw.write(request[sent++]);
    }, 100);
    const started = Date.now();
    try {
      await socketClosed(raw, 5000);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(sent).toBeLessThan(request.length);
      expect(wss.clients.size).toBe(0);
    } finally {
      clearInterval(drip);
      await wss.close();
      await new Promise((r) => server.close(r));
    }
    await stillServes(env);
  });

  it('answers headers far too large with 431 from Node', async () => {
    const raw = rawClient(env);
    raw.write(upgradeRequest('/', { 'X-Huge': 'x'.repeat(64 * 1024) }));
    const { status } = await readResponse(raw);
    expect(status).toBe(431);
    await stillServes(env);
  });

  it('reassembles 10,000 one-byte fragments into one message', async () => {
    const { raw } = await rawUpgraded(env);
    const parts = [frame(2, Buffer.from([0]), { fin: false })];
    for (let i = 1; i < 9999; i++) parts.push(frame(0, Buffer.from([i & 0xff]), { fin: false }));
    parts.push(frame(0, Buffer.from([9999 & 0xff])));
    raw.write(Buffer.concat(parts));
    await until(() => {
      const end = raw.received.indexOf('\r\n\r\n') + 4;
      return parseFrames(raw.received.subarray(end)).some((f) => f.opcode === 2);
    }, 10000, 'the echo');
    const end = raw.received.indexOf('\r\n\r\n') + 4;
    const echo = parseFrames(raw.received.subarray(end)).find((f) => f.opcode === 2);
    expect(echo.payload.length).toBe(10000);
    expect(echo.payload[9999]).toBe(9999 & 0xff);
    raw.destroy();
    await stillServes(env);
  });

  it('stops reading a ping flood whose pongs are never read, and cuts it after sendTimeout (1008)', async () => {
    await env.stop();
    // Without the cut on unwritten automatic pongs (maxPendingAutoPongs), which comes first.
    const options = { maxBackpressure: 256 * 1024, highWaterMark: 64 * 1024, sendTimeout: 300, closeTimeout: 300, maxPendingAutoPongs: 0 };
    env = await startServer(options);
    env.wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    const { raw, ws } = await rawUpgraded(env);
    const closeEvent = once(ws, 'close', 15000);
    raw.pause();
    const ping = frame(9, Buffer.alloc(125, 1));
    let written = 0;
    // Bounded: at most 200,000 pings (26 MB); the cut comes once the kernel's buffers are full.
    while (written < 200_000 && !raw.destroyed && ws.readyState === ws.OPEN) {
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => ping));
      raw.write(batch);
      written += 1000;
      await new Promise((r) => setTimeout(r, 2));
    }
    const [code] = await closeEvent;
    expect(code).toBe(1008);
    raw.destroy();
    await stillServes(env);
  });

  it('reports 1006 for a reset in the middle of a frame', async () => {
    const { raw, ws } = await rawUpgraded(env);
    const closeEvent = once(ws, 'close');
    const whole = frame(2, Buffer.alloc(1000, 3));
    raw.write(whole.subarray(0, 300));
    await new Promise((r) => setImmediate(r));
    raw.resetAndDestroy();
    expect((await closeEvent)[0]).toBe(1006);
    await stillServes(env);
  });

  it('leaks no file descriptor and no memory over 1,000 connections opened and closed', async () => {
    const cycle = async (n) => {
      for (let i = 0; i < n; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            const c = await connect(env.url);
            c.close();
            await once(c, 'close');
          })
        );
      }
      await until(() => env.wss.clients.size === 0, 10000, 'every connection closed');
    };
    await cycle(200); // warm up allocators and pools
    const fdsBefore = openFds();
    global.gc && global.gc();
    const rssBefore = process.memoryUsage().rss;
    await cycle(1000);
    await until(() => openFds() <= fdsBefore + 2, 5000, 'descriptors back to the baseline');
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    expect(rssGrowth).toBeLessThan(32 * 1024 * 1024);
    await stillServes(env);
  });
});
