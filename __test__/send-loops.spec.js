'use strict';

// Send loops (a chat room written for ws or websocket: one message sent to every client in a
// JavaScript loop) share one framed message per job. These tests hold them to what a user
// checks: each client gets its messages in the order they were sent, mixed with its other
// sends, and a Buffer rewritten between two sends goes out as it was at each send.

const http = require('http');
const { WebSocketServer } = require('../lib/faces/ws');
const { startServer, connect, until } = require('./helpers');

/** `n` clients of `url`, each collecting its text messages. */
async function clients(url, n) {
  const all = [];
  for (let i = 0; i < n; i++) {
    const ws = await connect(url);
    const c = { ws, got: [] };
    ws.on('message', (data) => c.got.push(String(data)));
    all.push(c);
  }
  return all;
}

describe('send loops', () => {
  it('keep each connection\'s order when shared and own sends mix (native face)', async () => {
    const env = await startServer({});
    const sockets = [];
    env.wss.on('connection', (ws) => sockets.push(ws));
    const cs = await clients(env.url, 3);
    await until(() => sockets.length === 3, 5000, 'three connections');
    // One job: the same string to everyone three times, each client's own message in between.
    for (let round = 0; round < 3; round++) {
      for (const ws of sockets) ws.send(`room ${round}`);
      sockets.forEach((ws, i) => ws.send(`own ${round} for ${i}`));
    }
    const expected = (i) => [0, 1, 2].flatMap((r) => [`room ${r}`, `own ${r} for ${i}`]);
    await until(() => cs.every((c) => c.got.length === 6), 5000, 'six messages each');
    cs.forEach((c, i) => expect(c.got).toEqual(expected(i)));
    for (const c of cs) c.ws.close();
    await env.stop();
  });

  it('keep each connection\'s order when batched loop sends mix with own sends and a close (ws face)', async () => {
    const httpServer = http.createServer();
    const wss = new WebSocketServer({ server: httpServer });
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const cs = await clients(`ws://127.0.0.1:${httpServer.address().port}`, 3);
    await until(() => wss.clients.size === 3, 5000, 'three connections');
    const sockets = [...wss.clients];
    const closed = new Promise((resolve) => cs[0].ws.on('close', (code) => resolve(code)));
    // One job: a shared text and a shared Buffer to everyone, each client's own message after each.
    for (const round of [0, 1]) {
      const shared = round === 0 ? 'room 0' : Buffer.from('room 1');
      sockets.forEach((ws) => ws.send(shared, { binary: false }));
      sockets.forEach((ws, i) => ws.send(`own ${round} for ${i}`));
    }
    sockets[0].close(1000);
    const expected = (i) => ['room 0', `own 0 for ${i}`, 'room 1', `own 1 for ${i}`];
    await until(() => cs.every((c) => c.got.length === 4), 5000, 'four messages each');
    cs.forEach((c, i) => expect(c.got).toEqual(expected(i)));
    expect(await closed).toBe(1000);
    for (const c of cs.slice(1)) c.ws.close();
    await new Promise((resolve) => wss.close(resolve));
    await new Promise((resolve) => httpServer.close(resolve));
  });

  it('send a Buffer as it is at each send, even rewritten in between (ws face)', async () => {
    const httpServer = http.createServer();
    const wss = new WebSocketServer({ server: httpServer });
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const cs = await clients(`ws://127.0.0.1:${httpServer.address().port}`, 3);
    await until(() => wss.clients.size === 3, 5000, 'three connections');
    const buf = Buffer.from('aaaa');
    for (const round of ['aaaa', 'bbbb']) {
      buf.write(round);
      wss.clients.forEach((client) => client.send(buf, { binary: false }));
    }
    buf.write('cccc');
    const [first] = wss.clients;
    first.send(buf, { binary: false });
    await until(() => cs.reduce((n, c) => n + c.got.length, 0) === 7, 5000, 'seven messages');
    const got = cs.map((c) => c.got);
    expect(got.filter((g) => g.length === 3)).toEqual([['aaaa', 'bbbb', 'cccc']]);
    expect(got.filter((g) => g.length === 2)).toEqual([
      ['aaaa', 'bbbb'],
      ['aaaa', 'bbbb'],
    ]);
    for (const c of cs) c.ws.close();
    await new Promise((resolve) => wss.close(resolve));
    await new Promise((resolve) => httpServer.close(resolve));
  });
});
