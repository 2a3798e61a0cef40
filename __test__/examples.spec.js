'use strict';

// Every file in examples/ runs as a user would run it (`PORT=0 node examples/x.js`) and is driven
// with the `ws` client.

const path = require('path');
const http = require('http');
const { spawn } = require('child_process');
const WsClient = require('ws');
const { once, until } = require('./helpers');

const EXAMPLES = path.join(__dirname, '..', 'examples');
const WAIT = 10000;

const running = new Set();

/** Starts examples/`file` on a free port; resolves once it printed its URL. */
function runExample(file, env = {}) {
  const child = spawn(process.execPath, [path.join(EXAMPLES, file)], {
    env: { ...process.env, ...env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.output = '';
  child.stdout.on('data', (d) => (child.output += d));
  child.stderr.on('data', (d) => (child.output += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${file} printed no URL within ${WAIT} ms:\n${child.output}`)), WAIT);
    function fail(err) {
      clearTimeout(timer);
      child.stdout.removeListener('data', onData);
      reject(err);
    }
    function onData() {
      const match = /\b(?:ws|wss|http):\/\/127\.0\.0\.1:(\d+)\//.exec(child.output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout.removeListener('data', onData);
      child.removeListener('exit', onExit);
      resolve({ child, port: Number(match[1]), line: match[0] });
    }
    function onExit(code, signal) {
      fail(new Error(`${file} exited early (${code ?? signal}):\n${child.output}`));
    }
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Resolves with [code, signal] when `child` exits; rejects after `ms`. */
function exited(child, ms = WAIT) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve([child.exitCode, child.signalCode]);
  return once(child, 'exit', ms);
}

afterEach(async () => {
  for (const child of running) {
    child.kill('SIGKILL');
    await exited(child).catch(() => {});
  }
});

/** A `ws` client that records every message as [text, isBinary]. */
async function client(url, options) {
  const ws = new WsClient(url, options);
  ws.got = [];
  ws.on('message', (data, isBinary) => ws.got.push([isBinary ? data : data.toString(), isBinary]));
  await once(ws, 'open', WAIT);
  return ws;
}

/** The next message `ws` receives after `count` messages, waiting at most WAIT. */
async function nth(ws, count) {
  await until(() => ws.got.length > count, WAIT, `message #${count + 1}`);
  return ws.got[count];
}

function get(port, pathname) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, timeout: WAIT }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${pathname} timed out`)));
    req.on('error', reject);
  });
}

async function closeClient(ws) {
  if (ws.readyState === WsClient.CLOSED) return;
  ws.close();
  await once(ws, 'close', WAIT);
}

describe('examples/echo.js', () => {
  it('echoes text as text and binary as binary', async () => {
    const { port, line } = await runExample('echo.js');
    expect(line).toBe(`ws://127.0.0.1:${port}/`);
    const ws = await client(`ws://127.0.0.1:${port}/`);
    ws.send('hello');
    expect(await nth(ws, 0)).toEqual(['hello', false]);
    ws.send(Buffer.from([0, 1, 2, 255]));
    const [data, isBinary] = await nth(ws, 1);
    expect(isBinary).toBe(true);
    expect([...data]).toEqual([0, 1, 2, 255]);
    await closeClient(ws);
  });
});

describe('examples/express.js', () => {
  it('serves Express routes and WebSockets on the same port', async () => {
    const { port } = await runExample('express.js');
    const page = await get(port, '/');
    expect(page.status).toBe(200);
    expect(page.body).toBe('Hello from Express. WebSocket: /ws\n');

    const ws = await client(`ws://127.0.0.1:${port}/ws?name=Ada`);
    expect(await nth(ws, 0)).toEqual(['hello, Ada', false]);
    ws.send('hi');
    expect(await nth(ws, 1)).toEqual(['you said: hi', false]);
    const api = await get(port, '/api/clients');
    expect(JSON.parse(api.body)).toEqual({ clients: 1 });

    // Another path is not a WebSocket endpoint.
    const stray = new WsClient(`ws://127.0.0.1:${port}/elsewhere`);
    stray.on('error', () => {});
    const [, res] = await once(stray, 'unexpected-response', WAIT);
    expect(res.statusCode).toBe(400);
    res.resume();
    stray.terminate();
    await closeClient(ws);
  });
});

describe('examples/rooms.js', () => {
  it('publishes to the members of a room only, not to the sender', async () => {
    const { port } = await runExample('rooms.js');
    const url = `ws://127.0.0.1:${port}/`;
    const [a, b, c] = [await client(url), await client(url), await client(url)];
    const send = (ws, msg) => ws.send(JSON.stringify(msg));
    const json = async (ws, i) => JSON.parse((await nth(ws, i))[0]);

    send(a, { op: 'join', room: 'red' });
    expect(await json(a, 0)).toEqual({ op: 'joined', room: 'red', members: 1 });
    send(b, { op: 'join', room: 'blue' });
    expect(await json(b, 0)).toEqual({ op: 'joined', room: 'blue', members: 1 });
    send(c, { op: 'join', room: 'red' });
    expect(await json(c, 0)).toEqual({ op: 'joined', room: 'red', members: 2 });

    send(a, { op: 'say', room: 'red', text: 'hi red' });
    expect(await json(c, 1)).toEqual({ op: 'message', room: 'red', text: 'hi red' });
    // c's answer reaches a after anything published before it, so a's log is complete here.
    send(c, { op: 'say', room: 'red', text: 'hi a' });
    expect(await json(a, 1)).toEqual({ op: 'message', room: 'red', text: 'hi a' });
    expect(a.got).toHaveLength(2);

    // b, in blue, got nothing from red: its next message is the answer to its own request.
    send(b, { op: 'say', room: 'red', text: 'sneaky' });
    expect(await json(b, 1)).toEqual({ op: 'error', message: 'join the room first' });
    send(b, { op: 'join', room: 'red' });
    expect(await json(b, 2)).toEqual({ op: 'joined', room: 'red', members: 3 });
    send(a, { op: 'leave', room: 'red' });
    expect(await json(a, 2)).toEqual({ op: 'left', room: 'red', members: 2 });

    send(a, { op: 'join', room: '../etc' });
    expect(await json(a, 3)).toEqual({ op: 'error', message: 'bad request' });
    await Promise.all([a, b, c].map(closeClient));
  });
});

describe('examples/graceful-shutdown.js', () => {
  it('closes clients with 1001 on SIGTERM and exits 0 on its own', async () => {
    const { child, port } = await runExample('graceful-shutdown.js');
    const ws = await client(`ws://127.0.0.1:${port}/`);
    await nth(ws, 0);
    // An idle keep-alive HTTP connection must not hold the shutdown.
    const agent = new http.Agent({ keepAlive: true });
    await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });

    const closing = once(ws, 'close', WAIT);
    const exit = exited(child);
    child.kill('SIGTERM');
    const [code, reason] = await closing;
    expect(code).toBe(1001);
    expect(reason.toString()).toBe('Server shutting down');
    expect(await exit).toEqual([0, null]);
    expect(child.output).toMatch(/SIGTERM, closing 1 connection/);
    expect(child.output).toMatch(/graceful-shutdown: closed/);
    agent.destroy();
  });
});

describe('examples/wss.js', () => {
  it('serves wss:// on an https.Server', async () => {
    const { port, line } = await runExample('wss.js');
    expect(line).toBe(`wss://127.0.0.1:${port}/`);
    // The example's default certificate is the self-signed test one.
    const ws = await client(`wss://127.0.0.1:${port}/`, { rejectUnauthorized: false });
    expect(await nth(ws, 0)).toEqual(['hello over TLS', false]);
    ws.send('secret');
    expect(await nth(ws, 1)).toEqual(['secret', false]);
    await closeClient(ws);
  });
});
