'use strict';

// permessage-deflate (RFC 7692) through the public API: negotiation, messages both ways, the
// threshold and the per-send override, broadcast, a compression bomb and corrupt data, on the
// native face and the ws face, with `ws`'s client and with raw frames.

const http = require('http');
const zlib = require('zlib');
const { WebSocketServer } = require('../lib/faces/ws');
const {
  startServer,
  connect,
  closed,
  once,
  until,
  rawClient,
  upgradeRequest,
  readResponse,
  frame,
  parseFrames,
  closeFrame,
} = require('./helpers');

/** Compresses a message as a client without context takeover does (the flush tail removed). */
function deflate(data) {
  const out = zlib.deflateRawSync(Buffer.from(data), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

function inflate(payload) {
  return zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
}

const TEXT = JSON.stringify({ user: 'ada', text: 'hello '.repeat(400) });

/** A raw client upgraded with `offer`; resolves with it and the response head. */
async function rawUpgrade(env, offer = 'permessage-deflate; client_max_window_bits') {
  const raw = rawClient(env);
  raw.write(upgradeRequest('/', { 'Sec-WebSocket-Extensions': offer }));
  const response = await readResponse(raw);
  return { raw, ...response };
}

/** Server frames a raw client received after the 101. */
function framesOf(raw) {
  const end = raw.received.indexOf('\r\n\r\n') + 4;
  return parseFrames(raw.received.subarray(end));
}

describe('permessage-deflate, native face', () => {
  let env = null;
  afterEach(async () => {
    await env?.stop();
    env = null;
  });

  it('is not offered unless enabled, and the connection works uncompressed', async () => {
    env = await startServer({});
    env.wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data.toString())));
    const client = await connect(env.url);
    expect(client.extensions).toBe('');
    client.send(TEXT);
    const [reply] = await once(client, 'message');
    expect(reply.toString()).toBe(TEXT);
    client.close();
  });

  it('agrees with ws without context takeover, and echoes compressed messages both ways', async () => {
    env = await startServer({ perMessageDeflate: true });
    let serverSide;
    env.wss.on('connection', (ws) => {
      serverSide = ws;
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : data.toString()));
    });
    const client = await connect(env.url);
    expect(client.extensions).toBe('permessage-deflate');
    expect(serverSide.extensions).toBe('permessage-deflate');
    for (const message of [TEXT, Buffer.alloc(50_000, 7), 'small']) {
      client.send(message);
      const [reply] = await once(client, 'message');
      expect(Buffer.from(reply)).toEqual(Buffer.from(message));
    }
    client.close();
    expect((await closed(client))[0]).toBe(1005);
  });

  it('answers with server_no_context_takeover and client_no_context_takeover by default', async () => {
    env = await startServer({ perMessageDeflate: true });
    const { raw, status, head } = await rawUpgrade(env);
    expect(status).toBe(101);
    expect(head).toMatch(
      /\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n/
    );
    raw.destroy();
  });

  it('refuses a malformed offer with 400, as ws does', async () => {
    env = await startServer({ perMessageDeflate: true });
    for (const offer of ['permessage-deflate; server_max_window_bits=20', 'permessage-deflate; foo', 'permessage-deflate;;']) {
      const { raw, status } = await rawUpgrade(env, offer);
      expect([offer, status]).toEqual([offer, 400]);
      raw.destroy();
    }
  });

  it('compresses from the threshold up, and never a message sent with compress: false', async () => {
    env = await startServer({ perMessageDeflate: { threshold: 100 } });
    env.wss.on('connection', (ws) => {
      ws.send('x'.repeat(99));
      ws.send('y'.repeat(2000));
      ws.send('z'.repeat(2000), { compress: false });
      ws.send(Buffer.alloc(2000, 1));
    });
    const { raw } = await rawUpgrade(env);
    await until(() => framesOf(raw).length === 4, 5000, 'four messages');
    const frames = framesOf(raw);
    expect(frames.map((f) => f.rsv1)).toEqual([false, true, false, true]);
    expect(inflate(frames[1].payload).toString()).toBe('y'.repeat(2000));
    expect(frames[1].payload.length).toBeLessThan(100);
    expect(inflate(frames[3].payload)).toEqual(Buffer.alloc(2000, 1));
    raw.destroy();
  });

  it('inflates a message compressed across fragments', async () => {
    env = await startServer({ perMessageDeflate: true });
    const got = new Promise((resolve) => env.wss.on('connection', (ws) => ws.on('message', (d) => resolve(d.toString()))));
    const { raw } = await rawUpgrade(env);
    const wire = deflate(TEXT);
    const half = wire.length >> 1;
    raw.write(Buffer.concat([frame(1, wire.subarray(0, half), { fin: false, rsv: 4 }), frame(0, wire.subarray(half))]));
    expect(await got).toBe(TEXT);
    raw.destroy();
  });

  it('closes a compression bomb with 1009 before inflating past maxPayload', async () => {
    env = await startServer({ perMessageDeflate: true, maxPayload: 1 << 20 });
    const errors = [];
    env.wss.on('connection', (ws) => ws.on('error', (err) => errors.push(err.code)));
    const { raw } = await rawUpgrade(env);
    const bomb = deflate(Buffer.alloc(64 << 20, 'a'));
    expect(bomb.length).toBeLessThan(128 << 10);
    raw.write(frame(2, bomb, { rsv: 4 }));
    expect((await closeFrame(raw)).code).toBe(1009);
    expect(errors).toEqual(['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH']);
    raw.destroy();
  });

  it('closes corrupt compressed data with 1007', async () => {
    env = await startServer({ perMessageDeflate: true });
    const { raw } = await rawUpgrade(env);
    raw.write(frame(1, Buffer.alloc(16, 0xff), { rsv: 4 }));
    expect((await closeFrame(raw)).code).toBe(1007);
    raw.destroy();
  });

  it('refuses RSV1 on a connection that did not agree compression', async () => {
    env = await startServer({ perMessageDeflate: true });
    const { raw, head } = await rawUpgrade(env, 'x-unknown-extension');
    expect(head).not.toMatch(/Sec-WebSocket-Extensions/i);
    raw.write(frame(1, deflate('hi'), { rsv: 4 }));
    expect((await closeFrame(raw)).code).toBe(1002);
    raw.destroy();
  });

  it('broadcasts one compressed frame to every compressing client, plain to the others', async () => {
    env = await startServer({ perMessageDeflate: true });
    const opened = [];
    env.wss.on('connection', () => opened.push(1));
    const compressing = await Promise.all([rawUpgrade(env), rawUpgrade(env)]);
    const plain = await rawUpgrade(env, 'x-unknown-extension');
    await until(() => opened.length === 3, 5000, 'three connections');
    expect(env.wss.broadcast(TEXT)).toBe(3);
    for (const { raw } of [...compressing, plain]) await until(() => framesOf(raw).length === 1, 5000, 'the broadcast');
    const [a, b] = compressing.map(({ raw }) => framesOf(raw)[0]);
    expect([a.rsv1, b.rsv1]).toEqual([true, true]);
    expect(a.payload).toEqual(b.payload);
    expect(inflate(a.payload).toString()).toBe(TEXT);
    const p = framesOf(plain.raw)[0];
    expect([p.rsv1, p.payload.toString()]).toEqual([false, TEXT]);
    for (const { raw } of [...compressing, plain]) raw.destroy();
  });

  it('keeps both windows with context takeover when asked to', async () => {
    env = await startServer({ perMessageDeflate: { serverNoContextTakeover: false, clientNoContextTakeover: false } });
    env.wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data.toString())));
    const client = await connect(env.url);
    for (let i = 0; i < 5; i++) {
      client.send(TEXT);
      const [reply] = await once(client, 'message');
      expect(reply.toString()).toBe(TEXT);
    }
    client.close();
  });

  it('names a bad setting', () => {
    const server = http.createServer();
    expect(() => require('..').attach(server, { perMessageDeflate: { level: 12 } })).toThrow(/perMessageDeflate\.level/);
    expect(() => require('..').attach(server, { perMessageDeflate: { windowBits: 12 } })).toThrow(/perMessageDeflate\.windowBits/);
    expect(() => require('..').attach(server, { perMessageDeflate: 'yes' })).toThrow(TypeError);
  });
});

describe('permessage-deflate, ws face', () => {
  let wss = null;
  let httpServer = null;
  afterEach(async () => {
    await new Promise((resolve) => wss.close(resolve));
    await new Promise((resolve) => httpServer.close(resolve));
  });

  async function start(perMessageDeflate) {
    httpServer = http.createServer();
    wss = new WebSocketServer({ server: httpServer, perMessageDeflate });
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    return `ws://127.0.0.1:${httpServer.address().port}`;
  }

  it("takes ws's perMessageDeflate option and shows the agreed extension", async () => {
    const url = await start({ threshold: 0, zlibDeflateOptions: { level: 6 }, concurrencyLimit: 10 });
    const headers = [];
    wss.on('headers', (lines) => headers.push(...lines));
    wss.on('connection', (ws) => {
      expect(ws.extensions).toBe('permessage-deflate');
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    const client = await connect(url);
    expect(headers.some((line) => line.startsWith('Sec-WebSocket-Extensions: permessage-deflate'))).toBe(true);
    client.send(TEXT);
    const [reply] = await once(client, 'message');
    expect(reply.toString()).toBe(TEXT);
    client.close();
    await closed(client);
  });

  it('sends uncompressed with compress: false', async () => {
    const url = await start(true);
    wss.on('connection', (ws) => ws.send(TEXT, { compress: false }));
    const raw = rawClient({ port: Number(new URL(url).port), secure: false });
    raw.write(upgradeRequest('/', { 'Sec-WebSocket-Extensions': 'permessage-deflate' }));
    await readResponse(raw);
    await until(() => framesOf(raw).length === 1, 5000, 'the message');
    expect(framesOf(raw)[0].rsv1).toBe(false);
    raw.destroy();
  });
});

// The same scenarios against `ws`'s own server and the ws face, with the same client: what the
// application and the client see must be equal.
describe('permessage-deflate, ws face beside ws', () => {
  const IMPLS = { ws: require('ws').WebSocketServer, ferrows: WebSocketServer };
  const stops = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  /** An echo server of `Impl` with `perMessageDeflate`; each message it gets is also recorded. */
  async function echo(Impl, perMessageDeflate) {
    const httpServer = http.createServer();
    const wss = new Impl({ server: httpServer, perMessageDeflate });
    const got = [];
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => {
        got.push(data.toString());
        ws.send(data, { binary: isBinary });
      });
    });
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    stops.push(async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => httpServer.close(resolve));
    });
    const { port } = httpServer.address();
    return { wss, got, env: { port, secure: false }, url: `ws://127.0.0.1:${port}` };
  }

  async function both(scenario) {
    const results = {};
    for (const [name, Impl] of Object.entries(IMPLS)) results[name] = await scenario(Impl);
    expect(results.ferrows).toEqual(results.ws);
    return results.ws;
  }

  it('reads a message that ends its DEFLATE stream, and the next one, on a connection that keeps its context', async () => {
    const seen = await both(async (Impl) => {
      const { got, env } = await echo(Impl, true);
      const { raw, status } = await rawUpgrade(env);
      // RFC 7692 §7.2.3.4: a message may end with a final block (zlib's Z_FINISH) rather than
      // a sync flush; the peer's next message then starts a new stream.
      raw.write(frame(0x1, zlib.deflateRawSync(Buffer.from('first')), { rsv: 4 }));
      raw.write(frame(0x1, deflate('second'), { rsv: 4 }));
      await until(() => got.length === 2 || raw.destroyed, 5000, 'two messages');
      raw.destroy();
      return { status, got };
    });
    expect(seen.got).toEqual(['first', 'second']);
  });

  it('sends empty messages among others with context takeover and threshold 0', async () => {
    const seen = await both(async (Impl) => {
      const { wss, url } = await echo(Impl, { threshold: 0 });
      wss.on('connection', (ws) => {
        for (const text of ['hello', '', '', 'world']) ws.send(text);
      });
      const client = await connect(url);
      const got = [];
      client.on('message', (data) => got.push(data.toString()));
      await until(() => got.length === 4 || client.readyState !== 1, 5000, 'four messages');
      client.close();
      return { got, extensions: client.extensions };
    });
    expect(seen.got).toEqual(['hello', '', '', 'world']);
  });

  it('compresses every message with context takeover, and from the threshold up without', async () => {
    const seen = await both(async (Impl) => {
      const rsv1 = {};
      for (const [name, option] of Object.entries({ takeover: true, none: { serverNoContextTakeover: true } })) {
        const { wss, env } = await echo(Impl, option);
        wss.on('connection', (ws) => ws.send('ten bytes!'));
        const { raw } = await rawUpgrade(env, 'permessage-deflate');
        await until(() => framesOf(raw).length === 1, 5000, 'the message');
        rsv1[name] = framesOf(raw)[0].rsv1;
        raw.destroy();
      }
      return rsv1;
    });
    expect(seen).toEqual({ takeover: true, none: false });
  });

  it("starts with the perMessageDeflate values ws takes, read as ws reads them", async () => {
    const options = [
      { zlibDeflateOptions: { level: zlib.constants.Z_DEFAULT_COMPRESSION } },
      { threshold: -1 },
      { threshold: '1024', serverNoContextTakeover: 1 },
      { threshold: Infinity, serverNoContextTakeover: true },
      { threshold: 1.5, serverNoContextTakeover: true },
      { serverMaxWindowBits: 8 },
    ];
    const seen = await both(async (Impl) => {
      const results = [];
      for (const option of options) {
        const { url } = await echo(Impl, option);
        const client = await connect(url);
        client.send(TEXT);
        const [reply] = await once(client, 'message');
        results.push([reply.toString() === TEXT, client.extensions.startsWith('permessage-deflate')]);
        client.close();
      }
      return results;
    });
    expect(seen).toEqual(options.map(() => [true, true]));
  });

  it('passes over an offer that cannot honour clientMaxWindowBits, and takes one that can', async () => {
    const { env } = await echo(WebSocketServer, { clientMaxWindowBits: 10 });
    const offers = {
      without: 'permessage-deflate',
      with: 'permessage-deflate, permessage-deflate; client_max_window_bits',
    };
    const answers = {};
    for (const [name, offer] of Object.entries(offers)) {
      const { raw, status, head } = await rawUpgrade(env, offer);
      answers[name] = [status, /^sec-websocket-extensions: (.*)$/im.exec(head)?.[1].trim()];
      raw.destroy();
    }
    // ws refuses the first handshake with 400; the engine runs it uncompressed instead, and
    // never lets the client compress with a window larger than the application allows.
    expect(answers).toEqual({
      without: [101, undefined],
      with: [101, 'permessage-deflate; client_max_window_bits=10'],
    });
  });
});
