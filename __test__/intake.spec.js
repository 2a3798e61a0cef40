'use strict';

// The Rust-first intake (lib/core/intake.js): on a plain TCP http.Server the engine sees each new
// connection first and answers plain upgrades itself. Everything else must reach Node exactly as
// before: routes, keep-alive, pipelining, bodies, refused upgrades, other 'upgrade' listeners.

const http = require('http');
const net = require('net');
const path = require('path');
const { execFile } = require('child_process');
const express = require('express');
const { attach } = require('..');
const { connect, once, until, rawClient, upgradeRequest, readResponse, parseFrames, frame } = require('./helpers');
const { earlyClient } = require('./fixtures/early-client');

let httpServer = null;
let wss = null;

afterEach(async () => {
  await wss?.close();
  if (httpServer?.listening) await new Promise((resolve) => httpServer.close(resolve));
  httpServer = null;
  wss = null;
});

/** An Express app on `httpServer` with ferrows at /ws; resolves with the port. */
async function start(options = {}) {
  const app = express();
  app.use(express.text());
  app.get('/hello', (req, res) => res.send(`hello ${req.query.name}`));
  app.post('/echo', (req, res) => res.send(`got ${req.body}`));
  httpServer = http.createServer(app);
  wss = attach(httpServer, { path: '/ws', ...options });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`re: ${data}`)));
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  return httpServer.address().port;
}

/** Writes `text` on a raw TCP connection and collects the reply until `done(received)`. */
async function exchange(port, text, done) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d) => (received += d.toString('latin1')));
  socket.write(text);
  await until(() => done(received), 5000, 'the reply');
  socket.destroy();
  return received;
}

const count = (text, what) => text.split(what).length - 1;

describe('the Rust-first intake', () => {
  it('answers upgrades, with a req that shows the request', async () => {
    const port = await start();
    const seen = new Promise((resolve) => wss.on('connection', (ws, req) => resolve({ ws, req })));
    const client = await connect(`ws://127.0.0.1:${port}/ws?room=7`, ['chat', 'other'], { headers: { Cookie: 'a=1' } });
    const { ws, req } = await seen;
    expect(req instanceof http.IncomingMessage).toBe(false); // the engine took it, not Node's parser
    expect([req.method, req.url, req.headers.cookie, req.headers.upgrade]).toEqual(['GET', '/ws?room=7', 'a=1', 'websocket']);
    expect(req.socket.remoteAddress).toBe('127.0.0.1');
    expect(req.rawHeaders).toContain('Sec-WebSocket-Protocol');
    expect([ws.protocol, client.protocol]).toEqual(['chat', 'chat']);
    client.send('hi');
    const [reply] = await once(client, 'message');
    expect(reply.toString()).toBe('re: hi');
    client.close();
  });

  it('leaves Express routes, request bodies and keep-alive to Node', async () => {
    const port = await start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path) =>
      new Promise((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', path, agent }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve([res.statusCode, body, res.socket]));
        }).on('error', reject);
      });
    const [status, body, first] = await get('/hello?name=ada');
    expect([status, body]).toEqual([200, 'hello ada']);
    const [, again, second] = await get('/hello?name=bob');
    expect(again).toBe('hello bob');
    expect(second).toBe(first); // the same kept-alive connection
    agent.destroy();

    const post = await exchange(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nabcde',
      (r) => r.includes('got abcde')
    );
    expect(post).toMatch(/^HTTP\/1.1 200/);
  });

  it('serves pipelined requests in order, and an upgrade after them on the same connection', async () => {
    const port = await start();
    const pipelined = 'GET /hello?name=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /hello?name=2 HTTP/1.1\r\nHost: x\r\n\r\n';
    const reply = await exchange(port, pipelined, (r) => count(r, 'hello ') === 2);
    expect(reply.indexOf('hello 1')).toBeLessThan(reply.indexOf('hello 2'));

    const socket = net.connect(port, '127.0.0.1');
    socket.received = Buffer.alloc(0);
    socket.on('data', (d) => (socket.received = Buffer.concat([socket.received, d])));
    socket.write('GET /hello?name=3 HTTP/1.1\r\nHost: x\r\n\r\n' + upgradeRequest('/ws'));
    await until(() => socket.received.includes('101 Switching Protocols'), 5000, 'the 101 after a request');
    expect(socket.received.toString('latin1')).toMatch(/hello 3[\s\S]*101 Switching Protocols/);
    socket.destroy();
  });

  it('leaves refused upgrades and other paths to the usual answers and listeners', async () => {
    const port = await start();
    // A bad version: Node's path answers it, as without the intake.
    const bad = await exchange(port, upgradeRequest('/ws', { 'Sec-WebSocket-Version': '8' }), (r) => r.includes('\r\n\r\n'));
    expect(bad).toMatch(/^HTTP\/1.1 426/);
    // Another library's 'upgrade' listener keeps its path.
    httpServer.on('upgrade', (req, socket) => {
      if (req.url === '/other') socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\n\r\n');
    });
    const other = await exchange(port, upgradeRequest('/other'), (r) => r.includes('\r\n\r\n'));
    expect(other).toMatch(/^HTTP\/1.1 418/);
  });

  it("routes with the application's own shouldHandle, which may read the request's headers", async () => {
    await start();
    wss.shouldHandle = (req) => req.headers['x-tenant'] === 'a';
    const tenant = await connect(`ws://127.0.0.1:${httpServer.address().port}/anywhere`, undefined, { headers: { 'X-Tenant': 'a' } });
    const [reply] = await (tenant.send('hi'), once(tenant, 'message'));
    expect(reply.toString()).toBe('re: hi');
    tenant.close();
    // Nobody takes the other tenant's upgrade: Node's path answers it.
    const other = await exchange(httpServer.address().port, upgradeRequest('/ws', { 'X-Tenant': 'b' }), (r) => r.includes('\r\n\r\n'));
    expect(other).toMatch(/^HTTP\/1.1 400/);
  });

  it("leaves a request head past Node's header limit to Node, which refuses it with 431", async () => {
    const port = await start();
    const big = upgradeRequest('/ws', { 'X-Padding': 'x'.repeat(20 * 1024) });
    const answer = await exchange(port, big, (r) => r.includes('\r\n\r\n'));
    expect(answer).toMatch(/^HTTP\/1.1 431/);
    // Within the limit the engine answers, as before.
    const fits = await exchange(port, upgradeRequest('/ws', { 'X-Padding': 'x'.repeat(8 * 1024) }), (r) => r.includes('\r\n\r\n'));
    expect(fits).toMatch(/^HTTP\/1.1 101/);
  });

  it('takes the first frames sent with the upgrade', async () => {
    const port = await start();
    const raw = rawClient({ port, secure: false });
    raw.write(Buffer.concat([Buffer.from(upgradeRequest('/ws')), frame(1, 'early')]));
    const { status } = await readResponse(raw);
    expect(status).toBe(101);
    await until(() => parseFrames(raw.received.subarray(raw.received.indexOf('\r\n\r\n') + 4)).length === 1, 5000, 'the echo');
    expect(parseFrames(raw.received.subarray(raw.received.indexOf('\r\n\r\n') + 4))[0].payload.toString()).toBe('re: early');
    raw.destroy();
  });

  it('shows the addresses of a connection that came as a net.Socket', async () => {
    const port = await start();
    // With the application listening, every connection becomes a net.Socket first; the intake
    // then sees the request at the socket's first data.
    httpServer.on('connection', () => {});
    const seen = new Promise((resolve) => wss.on('connection', (ws, req) => resolve({ ws, req })));
    const socket = rawClient({ port });
    await once(socket, 'connect');
    socket.write(upgradeRequest('/ws'));
    const { ws, req } = await seen;
    expect(req.socket instanceof net.Socket).toBe(true);
    expect([ws.remoteAddress, ws.remotePort]).toEqual(['127.0.0.1', socket.localPort]);
    expect([req.socket.remoteAddress, req.socket.remotePort]).toEqual(['127.0.0.1', socket.localPort]);
    socket.destroy();
  });

  it('gives a silent connection to Node, whose request timeouts then apply', async () => {
    const port = await start();
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    await new Promise((resolve) => setTimeout(resolve, 2500)); // past the intake's 2 s
    socket.write('GET /hello?name=late HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    let received = '';
    socket.on('data', (d) => (received += d));
    await until(() => received.includes('hello late'), 5000, 'the late request');
    socket.destroy();
  });

  it('can be turned off', async () => {
    const port = await start({ intake: false, verifyClient: () => true });
    const seen = new Promise((resolve) => wss.on('connection', (ws, req) => resolve(req)));
    const client = await connect(`ws://127.0.0.1:${port}/ws`);
    expect((await seen) instanceof http.IncomingMessage).toBe(true);
    client.close();
  });

  it('runs verifyClient and handleProtocols on the request it read', async () => {
    const calls = [];
    const reqs = [];
    const port = await start({
      verifyClient: (info) => {
        reqs.push(info.req);
        return calls.push(['verify', info.origin, info.secure, info.req.headers.cookie, info.req.socket.remoteAddress]) > 0;
      },
      handleProtocols: (protocols, req) => {
        reqs.push(req);
        calls.push(['protocols', [...protocols], req.url]);
        return 'second';
      },
    });
    const seen = new Promise((resolve) => wss.on('connection', (ws, req) => resolve({ ws, req })));
    const client = await connect(`ws://127.0.0.1:${port}/ws?x=1`, ['first', 'second'], { origin: 'http://here', headers: { Cookie: 'a=1' } });
    const { ws, req } = await seen;
    expect(calls).toEqual([
      ['verify', 'http://here', false, 'a=1', '127.0.0.1'],
      ['protocols', ['first', 'second'], '/ws?x=1'],
    ]);
    expect([client.protocol, ws.protocol]).toEqual(['second', 'second']);
    // The same light request throughout: the engine took the upgrade, not Node's parser.
    expect(reqs.length === 2 && reqs.every((r) => r === req)).toBe(true);
    expect(req instanceof http.IncomingMessage).toBe(false);
    const echoed = once(client, 'message');
    client.send('hi');
    expect(String((await echoed)[0])).toBe('re: hi');
    client.close();
  });

  it('answers verifyClient\'s refusals and later decisions as on Node\'s path', async () => {
    const port = await start({
      verifyClient: (info, cb) => {
        const url = info.req.url;
        if (url === '/ws?now=no') cb(false);
        else if (url === '/ws?later=no') setTimeout(() => cb(false, 418, 'Not today', { 'X-Why': 'test' }), 20);
        else setTimeout(() => cb(true), 20);
      },
    });
    const status = async (path) => {
      const raw = rawClient({ port });
      raw.write(upgradeRequest(path));
      const { head } = await readResponse(raw);
      raw.destroy();
      return head.split('\r\n').filter((line) => /^HTTP|^X-Why/.test(line));
    };
    expect(await status('/ws?now=no')).toEqual(['HTTP/1.1 401 Unauthorized']);
    expect(await status('/ws?later=no')).toEqual(['HTTP/1.1 418 I\'m a Teapot', 'X-Why: test']);
    // Accepted later, with the frames the client sent along with its request.
    const client = await earlyClient(port, Buffer.concat([Buffer.from(upgradeRequest('/ws?later=yes')), frame(1, 'early')]));
    const replies = () => parseFrames(client.received.subarray(client.received.indexOf('\r\n\r\n') + 4));
    await until(() => client.received.includes('\r\n\r\n') && replies().length === 1, 5000, 'the echo');
    expect(replies()[0].payload.toString()).toBe('re: early');
    client.destroy();
  });
});

// Connections whose request is in the socket before Node accepts them: the intake looks at it
// there, before any net.Socket exists (core/intake.js, "early").
describe('the Rust-first intake, when the request comes before the accept', () => {
  const frames = (received) => parseFrames(received.subarray(received.indexOf('\r\n\r\n') + 4));

  it('answers the upgrade and takes the frames sent with it', async () => {
    const port = await start();
    const seen = new Promise((resolve) => wss.on('connection', (ws, req) => resolve(req)));
    const client = await earlyClient(port, Buffer.concat([Buffer.from(upgradeRequest('/ws?early=1')), frame(1, 'early')]));
    await until(() => client.received.includes('\r\n\r\n') && frames(client.received).length === 1, 5000, 'the 101 and the echo');
    expect(client.received.toString('latin1')).toMatch(/^HTTP\/1.1 101 Switching Protocols\r\n/);
    expect(frames(client.received)[0].payload.toString()).toBe('re: early');
    const req = await seen;
    expect(req instanceof http.IncomingMessage).toBe(false);
    expect([req.url, req.socket.remoteAddress]).toEqual(['/ws?early=1', '127.0.0.1']);
    client.write(frame(1, 'then'));
    await until(() => frames(client.received).length === 2, 5000, 'the second echo');
    expect(frames(client.received)[1].payload.toString()).toBe('re: then');
    client.destroy();
  });

  it('leaves HTTP requests, their bodies and pipelining to Node, byte for byte', async () => {
    const port = await start();
    const client = await earlyClient(
      port,
      Buffer.from(
        'GET /hello?name=1 HTTP/1.1\r\nHost: x\r\n\r\n' +
          'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nabcde' +
          'GET /hello?name=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
      )
    );
    await until(() => client.closed, 5000, 'the three replies');
    const text = client.received.toString('latin1');
    expect(count(text, 'HTTP/1.1 200 OK')).toBe(3);
    expect(text.indexOf('hello 1')).toBeLessThan(text.indexOf('got abcde'));
    expect(text.indexOf('got abcde')).toBeLessThan(text.indexOf('hello 2'));
  });

  it("leaves other paths to their 'upgrade' listener", async () => {
    const port = await start();
    httpServer.on('upgrade', (req, socket) => {
      if (req.url === '/other') socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\n\r\n');
    });
    const client = await earlyClient(port, Buffer.from(upgradeRequest('/other')));
    await until(() => client.closed, 5000, 'the answer');
    expect(client.received.toString('latin1')).toMatch(/^HTTP\/1.1 418/);
  });

  it("lets an application listening to 'connection' see every socket, upgrades included", async () => {
    const port = await start();
    const sockets = [];
    httpServer.on('connection', (socket) => sockets.push(socket));
    const client = await earlyClient(port, Buffer.concat([Buffer.from(upgradeRequest('/ws')), frame(1, 'seen')]));
    await until(() => frames(client.received).length === 1, 5000, 'the echo');
    expect(frames(client.received)[0].payload.toString()).toBe('re: seen');
    expect(sockets).toHaveLength(1);
    expect(sockets[0] instanceof net.Socket).toBe(true);
    client.destroy();
  });

  it("closes Node's descriptor of a connection whose 'connection' listener throws", async () => {
    // In a child process: the exceptions are uncaught there, as any listener's would be.
    const out = await new Promise((resolve, reject) => {
      execFile(process.execPath, [path.join(__dirname, 'fixtures', 'throwing-connection.js')], { timeout: 20000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout)
      );
    });
    expect(JSON.parse(out)).toEqual({ clients: 20, thrown: 20, leaked: 0 });
  });
});
