'use strict';

// Clients the Rust-first intake (lib/core/intake.js) meets before it has a request to decide
// on: one that leaves without a word, one whose request head comes in pieces, one whose lines
// end with a bare LF. Each face must answer as the package it replaces does, side by side, and
// keep serving everyone else.

const http = require('http');
const net = require('net');
const { IMPLEMENTATIONS } = require('./implementations');
const { connect, once } = require('./helpers');

let httpServer = null;
let server = null;

afterEach(async () => {
  await server?.stop();
  if (httpServer?.listening) {
    httpServer.closeAllConnections();
    await new Promise((resolve) => httpServer.close(resolve));
  }
  httpServer = null;
  server = null;
});

/** An http.Server answering 'ok' with `implementation` echoing on it; resolves with the port. */
async function start(implementation) {
  httpServer = http.createServer((req, res) => res.end('ok'));
  server = implementation(httpServer, (conn) => conn.onMessage((data) => conn.send(data)));
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  return httpServer.address().port;
}

/** Resolves once the http.Server counts `n` connections (Node counts a socket once it made it). */
async function connections(n, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const count = await new Promise((resolve, reject) => httpServer.getConnections((err, c) => (err ? reject(err) : resolve(c))));
    if (count === n) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${n} connections (${count})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw TCP client; resolves once connected. */
async function rawConnect(port) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** The status line of the reply on `socket`. */
async function statusLine(socket) {
  const [data] = await once(socket, 'data');
  return data.toString('latin1').split('\r\n')[0];
}

/** The server still upgrades and echoes. */
async function stillServes(port) {
  const client = await connect(`ws://127.0.0.1:${port}/`);
  client.send('still here');
  const [reply] = await once(client, 'message');
  expect(reply.toString()).toBe('still here');
  client.close();
}

describe.each(Object.keys(IMPLEMENTATIONS))('%s: clients before their request', (name) => {
  const implementation = IMPLEMENTATIONS[name];

  it('survives a client that connects and resets without a word', async () => {
    const port = await start(implementation);
    const client = await rawConnect(port);
    await connections(1);
    client.resetAndDestroy();
    await connections(0);
    await stillServes(port);
  });

  it("ends a connection whose client half-closes before its request, as Node's parser does", async () => {
    const port = await start(implementation);
    const client = await rawConnect(port);
    await connections(1);
    const ended = once(client, 'end');
    client.end();
    await ended;
    await connections(0);
    await stillServes(port);
  });

  it('answers a request whose head comes in two writes', async () => {
    const port = await start(implementation);
    const client = await rawConnect(port);
    client.write('GET /index.html HTTP/1.1\r\nHost: x\r\n');
    await connections(1);
    const reply = statusLine(client);
    client.write('\r\n');
    expect(await reply).toBe('HTTP/1.1 200 OK');
    client.destroy();
    await stillServes(port);
  });

  it('refuses an upgrade whose lines end with a bare LF with 400, as Node does', async () => {
    const port = await start(implementation);
    const client = await rawConnect(port);
    const reply = statusLine(client);
    client.write(
      'GET / HTTP/1.1\nHost: x\nUpgrade: websocket\nConnection: Upgrade\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n',
    );
    expect(await reply).toBe('HTTP/1.1 400 Bad Request');
    client.destroy();
    await stillServes(port);
  });
});
