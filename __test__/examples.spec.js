'use strict';

// Every file in examples/ runs as a user would run it (`PORT=0 node examples/x.js`) and is driven
// with the `ws` client.

const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const WsClient = require('ws');
const { once, until } = require('./helpers');

const { EXAMPLES, runExample, stopExamples, exited, client, nth, WAIT } = require('./fixtures/examples');

afterEach(stopExamples);

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

describe('examples/ws-face.js', () => {
  let tmp;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrows-ws-face-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A copy of examples/`file` with its one require('ferrows') turned back into require('ws'). */
  function onWs(file) {
    const source = fs.readFileSync(path.join(EXAMPLES, file), 'utf8');
    const requires = source.match(/require\('ferrows'\)/g) || [];
    if (requires.length !== 1) throw new Error(`${file}: expected one require('ferrows'), found ${requires.length}`);
    const copy = path.join(tmp, file);
    fs.writeFileSync(copy, source.replace("require('ferrows')", "require('ws')"));
    return copy;
  }

  // The claim is "code written for ws, only the require changed": the same file must behave the
  // same on ws itself.
  it.each(['ferrows', 'ws'])('broadcasts to every other client, text as text and binary as binary (on %s)', async (lib) => {
    const file = lib === 'ferrows' ? 'ws-face.js' : onWs('ws-face.js');
    // The copy lives outside the repository: let it find ws in the repository's node_modules.
    const { child, port, line } = await runExample(file, { NODE_PATH: path.join(__dirname, '..', 'node_modules') });
    const url = `ws://127.0.0.1:${port}/`;
    expect(line).toBe(url);
    const a = await client(url);
    expect(await nth(a, 0)).toEqual(['welcome, 1 online', false]);
    const b = await client(url);
    expect(await nth(b, 0)).toEqual(['welcome, 2 online', false]);
    const c = await client(url);
    expect(await nth(c, 0)).toEqual(['welcome, 3 online', false]);

    a.send('hello all');
    expect(await nth(b, 1)).toEqual(['hello all', false]);
    expect(await nth(c, 1)).toEqual(['hello all', false]);
    a.send(Buffer.from([0, 1, 2, 255]));
    for (const ws of [b, c]) {
      const [data, isBinary] = await nth(ws, 2);
      expect(isBinary).toBe(true);
      expect([...data]).toEqual([0, 1, 2, 255]);
    }
    // b's message reaches a after anything a's own messages could have sent back to a, so a's
    // log is complete here: the sender is left out.
    b.send('hi a');
    expect(await nth(a, 1)).toEqual(['hi a', false]);
    expect(a.got).toHaveLength(2);

    c.close(1000, 'bye');
    await once(c, 'close', WAIT);
    await until(() => /left \(1000 bye\), 2 online/.test(child.output), WAIT, 'the leave log');
    b.send('after c left');
    expect(await nth(a, 2)).toEqual(['after c left', false]);
    expect(child.output).toMatch(/ws-face: 127\.0\.0\.1:\d+ connected \(3 online\)/);
    await Promise.all([a, b].map(closeClient));
  });
});

describe('examples/websocket-compat (the websocket face)', () => {
  it('server.js echoes on echo-protocol, logs what it gets, and refuses clients without the protocol', async () => {
    const { child, port } = await runExample('websocket-compat/server.js');
    const url = `ws://127.0.0.1:${port}/`;
    const ws = await client(url, ['echo-protocol']);
    expect(ws.protocol).toBe('echo-protocol');
    ws.send('hello example');
    expect(await nth(ws, 0)).toEqual(['hello example', false]);
    ws.send(Buffer.from([0, 1, 2, 255]));
    const [data, isBinary] = await nth(ws, 1);
    expect(isBinary).toBe(true);
    expect([...data]).toEqual([0, 1, 2, 255]);
    ws.close(1000, 'bye now');
    await once(ws, 'close', WAIT);
    await until(() => /disconnected: 1000 bye now/.test(child.output), WAIT, 'the close log');
    expect(child.output).toMatch(/Connection accepted\./);
    expect(child.output).toMatch(/Received Message: hello example/);
    expect(child.output).toMatch(/Received Binary Message of 4 bytes/);

    // accept('echo-protocol') throws for a client that did not ask for it; the client gets 500.
    const stray = new WsClient(url);
    stray.on('error', () => {});
    const [, res] = await once(stray, 'unexpected-response', WAIT);
    expect(res.statusCode).toBe(500);
    res.resume();
    stray.terminate();
    await until(() => /Connection rejected: /.test(child.output), WAIT, 'the rejection log');
  });

  it('chat.js forwards every text message to everyone, sender included, and ignores binary', async () => {
    const { child, port } = await runExample('websocket-compat/chat.js');
    const url = `ws://127.0.0.1:${port}/`;
    const a = await client(url);
    await until(() => /1 online/.test(child.output), WAIT, 'the first join');
    const b = await client(url);
    await until(() => /2 online/.test(child.output), WAIT, 'the second join');

    a.send('hi from a');
    expect(await nth(a, 0)).toEqual(['hi from a', false]);
    expect(await nth(b, 0)).toEqual(['hi from a', false]);
    // a's messages are handled in order: had the binary one been forwarded, it would come first.
    a.send(Buffer.from([1, 2, 3]));
    a.send('after binary');
    expect(await nth(b, 1)).toEqual(['after binary', false]);
    expect(await nth(a, 1)).toEqual(['after binary', false]);

    b.close(1000, 'bye');
    await once(b, 'close', WAIT);
    await until(() => /left: 1000 bye/.test(child.output), WAIT, 'the leave log');
    a.send('alone now');
    expect(await nth(a, 2)).toEqual(['alone now', false]);
    await closeClient(a);
  });
});

describe('examples/backpressure.js', () => {
  const TOTAL = 64 * 1024 * 1024;
  const CHUNK = 64 * 1024;
  const STREAM_WAIT = 45000;

  /**
   * A `ws` client that checks each chunk against the example's format as it arrives (keeping
   * none of them) and records the summary, the close and the first mismatch.
   */
  async function receiver(url, { paused = false } = {}) {
    const ws = new WsClient(url);
    ws.stats = { bytes: 0, chunks: 0, mismatch: null, text: [], close: null };
    ws.on('open', () => {
      ws.localPort = ws._socket.localPort;
      // Paused before any message is read: from here on the server can only queue.
      if (paused) ws.pause();
    });
    ws.on('message', (data, isBinary) => {
      const s = ws.stats;
      if (!isBinary) {
        s.text.push(data.toString());
        return;
      }
      const expected = Buffer.alloc(CHUNK, (s.bytes / CHUNK) % 256);
      expected.writeBigUInt64BE(BigInt(s.bytes), 0);
      if (!s.mismatch && !data.equals(expected)) {
        s.mismatch = `chunk #${s.chunks} (at byte ${s.bytes}, ${data.length} bytes) is not the expected one`;
      }
      s.bytes += data.length;
      s.chunks++;
    });
    ws.on('close', (code, reason) => (ws.stats.close = [code, reason.toString()]));
    await once(ws, 'open', WAIT);
    return ws;
  }

  it('delivers every byte in order to a fast and to a stalled client, and cuts neither', async () => {
    const { child, port } = await runExample('backpressure.js');
    const url = `ws://127.0.0.1:${port}/`;
    const slow = await receiver(url, { paused: true });
    const fast = await receiver(url);

    await until(() => fast.stats.close, STREAM_WAIT, 'the fast client to get everything');
    expect(fast.stats).toEqual({ bytes: TOTAL, chunks: TOTAL / CHUNK, mismatch: null, text: [`done ${TOTAL}`], close: [1000, 'done'] });
    // The stalled client did not hold the fast one back, and the server did not buffer its 64 MiB:
    // it is still waiting for 'drain', not finished (and not cut with 1008).
    expect(slow.stats.close).toBe(null);
    expect(slow.stats.bytes).toBeLessThan(TOTAL);
    expect(child.output).not.toMatch(new RegExp(`to 127\\.0\\.0\\.1:${slow.localPort} `));

    slow.resume();
    await until(() => slow.stats.close, STREAM_WAIT, 'the stalled client, resumed, to get everything');
    expect(slow.stats).toEqual({ bytes: TOTAL, chunks: TOTAL / CHUNK, mismatch: null, text: [`done ${TOTAL}`], close: [1000, 'done'] });

    for (const ws of [fast, slow]) {
      const log = new RegExp(`sent ${TOTAL} bytes to 127\\.0\\.0\\.1:${ws.localPort} in \\d+ ms, waited for 'drain' (\\d+) times`);
      await until(() => log.test(child.output), WAIT, `the server's log line for port ${ws.localPort}`);
      expect(Number(log.exec(child.output)[1])).toBeGreaterThan(0);
    }
  }, 120000);

  it('stops streaming to a client that closes', async () => {
    const { child, port } = await runExample('backpressure.js');
    const ws = await receiver(`ws://127.0.0.1:${port}/`);
    await until(() => ws.stats.chunks > 0, WAIT, 'the first chunk');
    ws.close(1000, 'enough');
    await until(() => ws.stats.close, WAIT, 'the close');
    const log = new RegExp(`127\\.0\\.0\\.1:${ws.localPort} closed \\(1000\\) after (\\d+) of ${TOTAL} bytes; stopped`);
    await until(() => log.test(child.output), WAIT, "the server's stop log");
    expect(Number(log.exec(child.output)[1])).toBeLessThan(TOTAL);
    expect(ws.stats.mismatch).toBe(null);
  });
});
