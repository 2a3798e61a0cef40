'use strict';

const { startServer, connect, once, closed, rawClient, upgradeRequest, readResponse, frame, parseFrames, until, socketClosed, SCHEMES, useScheme, newClient } = require('./helpers');

describe.each(SCHEMES)('opening handshake over %s', (scheme) => {
  beforeAll(() => useScheme(scheme));
  let env;
  afterEach(async () => env && (await env.stop()));

  it('answers 101 with the RFC accept value and emits connection with the request', async () => {
    env = await startServer();
    const seen = once(env.wss, 'connection');
    const raw = rawClient(env);
    raw.write(upgradeRequest('/chat?room=1'));
    const { status, head } = await readResponse(raw);
    expect(status).toBe(101);
    expect(head).toMatch(/\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i);
    expect(head).not.toMatch(/Sec-WebSocket-Protocol/i);
    const [ws, req] = await seen;
    expect(req.url).toBe('/chat?room=1');
    expect(ws.remoteAddress).toBe('127.0.0.1');
    expect(ws.remotePort).toBe(raw.localPort);
    expect(ws.readyState).toBe(1);
    raw.destroy();
  });

  it('selects the first offered subprotocol by default', async () => {
    env = await startServer();
    const client = await connect(env.url, ['chat', 'superchat']);
    expect(client.protocol).toBe('chat');
    const [ws] = [...env.wss.clients];
    expect(ws.protocol).toBe('chat');
    client.close();
  });

  it('lets handleProtocols choose among the offered subprotocols, or none', async () => {
    let offered;
    env = await startServer({
      handleProtocols: (protocols) => {
        offered = [...protocols];
        return protocols.has('v2') ? 'v2' : false;
      },
    });
    const client = await connect(env.url, ['v1', 'v2']);
    expect(offered).toEqual(['v1', 'v2']);
    expect(client.protocol).toBe('v2');
    const raw = rawClient(env);
    raw.write(upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'v9' }));
    const { status, head } = await readResponse(raw);
    expect(status).toBe(101);
    expect(head).not.toMatch(/Sec-WebSocket-Protocol/i);
    client.close();
    raw.destroy();
  });

  it('accepts an async handleProtocols', async () => {
    env = await startServer({ handleProtocols: async (protocols) => [...protocols][1] });
    const client = await connect(env.url, ['a', 'b']);
    expect(client.protocol).toBe('b');
    client.close();
  });

  it('only upgrades its path and answers 400 elsewhere when nobody else listens', async () => {
    env = await startServer({ path: '/ws' });
    const ok = await connect(`${env.url}/ws?x=1`);
    const raw = rawClient(env);
    raw.write(upgradeRequest('/other'));
    const { status } = await readResponse(raw);
    expect(status).toBe(400);
    ok.close();
    raw.destroy();
  });

  it('leaves other paths to the application’s own upgrade listeners', async () => {
    let other;
    env = await startServer({ path: '/ws' }, (httpServer) =>
      httpServer.on('upgrade', (req, socket) => {
        other = req.url;
        socket.end('HTTP/1.1 418 Teapot\r\nConnection: close\r\n\r\n');
      })
    );
    const raw = rawClient(env);
    raw.write(upgradeRequest('/elsewhere'));
    const { status } = await readResponse(raw);
    expect(status).toBe(418);
    expect(other).toBe('/elsewhere');
    raw.destroy();
  });

  it('serves two ferrows servers on two paths of one http server', async () => {
    env = await startServer({ path: '/a' });
    const { attach } = require('..');
    const second = attach(env.httpServer, { path: '/b' });
    second.on('connection', (ws) => ws.send('from b'));
    env.wss.on('connection', (ws) => ws.send('from a'));
    const a = newClient(`${env.url}/a`);
    const b = newClient(`${env.url}/b`);
    const [[ma], [mb]] = await Promise.all([once(a, 'message'), once(b, 'message')]);
    expect([ma.toString(), mb.toString()]).toEqual(['from a', 'from b']);
    a.close();
    b.close();
    await second.close();
  });

  it('rejects with the status verifyClient gives, sync or async', async () => {
    env = await startServer({
      verifyClient: (info, cb) => {
        if (info.req.url === '/yes') return cb(true);
        setTimeout(() => cb(false, 403, 'No entry', { 'X-Why': 'test' }), 5);
      },
    });
    const ok = await connect(`${env.url}/yes`);
    const raw = rawClient(env);
    raw.write(upgradeRequest('/no'));
    const { status, head, rest } = await readResponse(raw);
    expect(status).toBe(403);
    expect(head).toMatch(/\r\nX-Why: test\r\n/);
    await until(() => raw.received.toString().endsWith('No entry'));
    expect(rest.length).toBeGreaterThanOrEqual(0);
    ok.close();
    raw.destroy();
  });

  it('answers 401 when a sync verifyClient returns false, and passes origin', async () => {
    let origin;
    env = await startServer({
      verifyClient: (info) => {
        origin = info.origin;
        return false;
      },
    });
    const client = newClient(env.url, undefined, { origin: 'http://example.test' });
    const [, res] = await once(client, 'unexpected-response');
    expect(res.statusCode).toBe(401);
    expect(origin).toBe('http://example.test');
    client.on('error', () => {});
    res.destroy();
  });

  it('answers 408 when verifyClient keeps the client waiting past handshakeTimeout', async () => {
    let late;
    env = await startServer({ handshakeTimeout: 300, verifyClient: (info, cb) => (late = cb) });
    const raw = rawClient(env);
    const started = Date.now();
    raw.write(upgradeRequest('/'));
    const { status } = await readResponse(raw);
    expect(status).toBe(408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    late(true); // an answer after the deadline is ignored
    await socketClosed(raw);
    expect(env.wss.clients.size).toBe(0);
  });

  it('accepts a promise from verifyClient', async () => {
    env = await startServer({ verifyClient: async ({ req }) => req.headers['x-token'] === 'ok' });
    const client = await connect(env.url, undefined, { headers: { 'x-token': 'ok' } });
    const denied = newClient(env.url, undefined, { headers: { 'x-token': 'bad' } });
    const [, res] = await once(denied, 'unexpected-response');
    expect(res.statusCode).toBe(401);
    denied.on('error', () => {});
    res.destroy();
    client.close();
  });

  it.each([
    ['a wrong version', { 'Sec-WebSocket-Version': '8' }, 426],
    ['a missing key', { 'Sec-WebSocket-Key': undefined }, 400],
    ['a malformed key', { 'Sec-WebSocket-Key': 'not-base64' }, 400],
    ['a wrong Upgrade header', { Upgrade: 'h2c' }, 400],
    ['a malformed subprotocol list', { 'Sec-WebSocket-Protocol': 'a,,b' }, 400],
  ])('answers %s with its HTTP status and keeps serving', async (_, headers, expected) => {
    env = await startServer();
    const raw = rawClient(env);
    raw.write(upgradeRequest('/', headers));
    const { status, head } = await readResponse(raw);
    expect(status).toBe(expected);
    if (expected === 426) expect(head).toMatch(/\r\nSec-WebSocket-Version: 13\r\n/i);
    await socketClosed(raw);
    const client = await connect(env.url);
    client.close();
  });

  it('delivers frames the client sent in the same segment as the request', async () => {
    env = await startServer();
    const got = [];
    env.wss.on('connection', (ws) => ws.on('message', (data) => got.push(data)));
    const raw = rawClient(env);
    raw.write(Buffer.concat([Buffer.from(upgradeRequest('/')), frame(1, 'first'), frame(1, 'second'), frame(2, Buffer.alloc(70000, 7))]));
    await until(() => got.length === 3, 5000, 'three messages');
    expect(got.slice(0, 2)).toEqual(['first', 'second']);
    expect(got[2].length).toBe(70000);
    raw.destroy();
  });

  it('lets the connection handler send before the client has sent anything', async () => {
    env = await startServer();
    env.wss.on('connection', (ws) => ws.send('welcome'));
    const raw = rawClient(env);
    raw.write(upgradeRequest('/'));
    await until(() => parseFrames(raw.received.subarray(raw.received.indexOf('\r\n\r\n') + 4)).length === 1);
    const { status, rest } = await readResponse(raw);
    expect(status).toBe(101);
    expect(parseFrames(rest)[0].payload.toString()).toBe('welcome');
    raw.destroy();
  });

  it('refuses upgrades once closing', async () => {
    env = await startServer();
    const client = await connect(env.url);
    const closing = env.wss.close();
    const late = newClient(env.url);
    const lateOutcome = new Promise((resolve) => {
      late.on('open', () => resolve('opened'));
      late.on('error', (err) => resolve(err.message));
    });
    const [code] = await closed(client);
    expect(code).toBe(1001);
    await closing;
    expect(await lateOutcome).toMatch(/Unexpected server response|socket hang up/);
  });
});
