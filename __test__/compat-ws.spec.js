'use strict';

// Differential tests of the ws face: every scenario runs against ws's own WebSocketServer and
// against ferrows's, with the same clients (ws's client and raw sockets), and what the
// application and the client observe must be equal.

const fs = require('fs');
const path = require('path');
const http = require('http');
const https = require('https');
const net = require('net');
const WS = require('ws');
const ferrows = require('..');
const { once, until, upgradeRequest, rawClient, readResponse, frame, parseFrames, closeFrame, socketClosed, KEY } = require('./helpers');

const IMPLEMENTATIONS = [
  ['ws', WS.WebSocketServer],
  ['ferrows', ferrows.WebSocketServer],
];

/** Runs `scenario(Server, name)` against ws, then ferrows; their results must be equal. */
async function differential(scenario) {
  const results = {};
  for (const [name, Server] of IMPLEMENTATIONS) {
    results[name] = await scenario(Server, name);
    await cleanUp();
  }
  expect(results.ferrows).toEqual(results.ws);
  return results.ws;
}

let cleanups = [];

/** Registers `fn` to run (newest first) after the scenario. */
function defer(fn) {
  cleanups.push(fn);
}

async function cleanUp() {
  const fns = cleanups.reverse();
  cleanups = [];
  for (const fn of fns) {
    try {
      await fn();
    } catch {
      // Cleanup of something already gone.
    }
  }
}

afterEach(cleanUp);

function closeHttp(server) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 3000);
    if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const TLS = {
  key: fs.readFileSync(path.join(__dirname, 'fixtures', 'key.pem')),
  cert: fs.readFileSync(path.join(__dirname, 'fixtures', 'cert.pem')),
};

/** An http(s) server on a loopback port with `Server` attached through `{ server }`. */
async function start(Server, options = {}, { secure = false } = {}) {
  const handler = (req, res) => res.end('plain http');
  const httpServer = secure ? https.createServer(TLS, handler) : http.createServer(handler);
  const wss = new Server({ server: httpServer, ...options });
  wss.on('connection', (ws) => defer(() => ws.terminate()));
  defer(() => closeHttp(httpServer));
  defer(() => wss.close());
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address();
  return { httpServer, wss, port, secure, url: `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}` };
}

/** A ws client connected to `env`, with the server side of the connection. */
async function pair(env, { path: urlPath = '/', protocols, options } = {}) {
  const connection = once(env.wss, 'connection');
  const client = new WS(env.url + urlPath, protocols, { rejectUnauthorized: false, ...options });
  defer(() => client.terminate());
  client.on('error', () => {});
  await once(client, 'open');
  const [ws, req] = await connection;
  return { client, ws, req };
}

/** A raw socket to `env` that sends `request`; resolves once the server has closed it. */
async function rawRefusal(env, request) {
  const socket = rawClient(env);
  defer(() => socket.destroy());
  socket.write(request);
  await socketClosed(socket);
  return socket.received.toString();
}

/** A raw socket to `env` that sends `request`; resolves with the response head and the socket. */
async function rawUpgrade(env, request) {
  const socket = rawClient(env);
  defer(() => socket.destroy());
  socket.write(request);
  const { head, status } = await readResponse(socket);
  return { head, status, socket };
}

/** What a message payload is, as an application would check it. */
function describeData(data) {
  if (Buffer.isBuffer(data)) return ['Buffer', data.toString('hex')];
  if (data instanceof ArrayBuffer) return ['ArrayBuffer', Buffer.from(data).toString('hex')];
  if (Array.isArray(data)) return ['Array', data.map(describeData)];
  if (typeof Blob !== 'undefined' && data instanceof Blob) return ['Blob', data.size];
  return [typeof data, String(data)];
}

function describeError(err) {
  return err ? [err.constructor.name, err.code, err.message] : err;
}

/** Records every message of `emitter` as [data, isBinary]. */
function recordMessages(emitter) {
  const log = [];
  emitter.on('message', (data, isBinary) => log.push([describeData(data), isBinary]));
  return log;
}

/** Calls `fn(...)` and returns what it threw, described. */
function thrown(fn) {
  try {
    fn();
    return null;
  } catch (err) {
    return describeError(err);
  }
}

function withoutDate(response) {
  return response.replace(/^Date: .*\r\n/m, '');
}

describe('ws face: opening handshake', () => {
  it('answers a valid upgrade with the same 101 head and socket state', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const connection = once(env.wss, 'connection');
      const { head } = await rawUpgrade(env, upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'chat, superchat' }));
      const [ws, req] = await connection;
      return {
        head,
        protocol: ws.protocol,
        extensions: ws.extensions,
        url: ws.url,
        readyState: ws.readyState,
        binaryType: ws.binaryType,
        bufferedAmount: ws.bufferedAmount,
        isPaused: ws.isPaused,
        reqUrl: req.url,
        clients: env.wss.clients.size,
        // ws applications read the peer from the request's socket after the upgrade.
        addresses: [
          req.socket.remoteAddress,
          typeof req.socket.remotePort,
          req.socket.remoteFamily,
          req.socket.localAddress,
          req.socket.localPort === env.port,
        ],
      };
    });
  });

  it('chooses the first offered subprotocol, or what handleProtocols returns', async () => {
    await differential(async (Server) => {
      const seen = [];
      const handleProtocols = (protocols, req) => {
        seen.push([[...protocols], req.url]);
        return protocols.has('superchat') ? 'superchat' : false;
      };
      const plain = await start(Server);
      const first = await pair(plain, { protocols: ['chat', 'superchat'] });
      const custom = await start(Server, { handleProtocols });
      const chosen = await pair(custom, { path: '/x', protocols: ['chat', 'superchat'] });
      // ws's client refuses a 101 without the protocol it asked for: a raw client takes it.
      const connection = once(custom.wss, 'connection');
      const none = await rawUpgrade(custom, upgradeRequest('/none', { 'Sec-WebSocket-Protocol': 'chat' }));
      const [noneWs] = await connection;
      const offered = await pair(custom);
      return {
        first: [first.client.protocol, first.ws.protocol],
        chosen: [chosen.client.protocol, chosen.ws.protocol],
        none: [none.head, noneWs.protocol],
        offered: offered.ws.protocol,
        seen,
      };
    });
  });

  it('refuses malformed requests with ws statuses, headers and bodies', async () => {
    const requests = [
      upgradeRequest('/').replace('GET', 'POST'),
      upgradeRequest('/', { Upgrade: 'h2c' }),
      upgradeRequest('/', { 'Sec-WebSocket-Key': undefined }),
      upgradeRequest('/', { 'Sec-WebSocket-Key': 'not-a-key' }),
      upgradeRequest('/', { 'Sec-WebSocket-Version': '7' }),
      upgradeRequest('/', { 'Sec-WebSocket-Version': undefined }),
      upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'a,,b' }),
      upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'a, a' }),
      upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'a b' }),
    ];
    await differential(async (Server) => {
      const env = await start(Server);
      const answers = [];
      for (const request of requests) answers.push(await rawRefusal(env, request));
      return answers;
    });
  });

  it('accepts protocol version 8 as ws does', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { head } = await rawUpgrade(env, upgradeRequest('/', { 'Sec-WebSocket-Version': '8' }));
      return head;
    });
  });

  it('emits wsClientError instead of answering when someone listens', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const seen = [];
      env.wss.on('wsClientError', (err, socket, req) => {
        seen.push([describeError(err), socket instanceof net.Socket, req.url]);
        socket.end('HTTP/1.1 418 I\'m a Teapot\r\nConnection: close\r\n\r\n');
      });
      const answer = await rawRefusal(env, upgradeRequest('/tea', { 'Sec-WebSocket-Version': '7' }));
      return { seen, answer };
    });
  });

  it('answers 400 to other paths and takes its own path with any query', async () => {
    await differential(async (Server) => {
      const env = await start(Server, { path: '/chat' });
      const other = await rawRefusal(env, upgradeRequest('/other'));
      const { head } = await rawUpgrade(env, upgradeRequest('/chat?room=1'));
      const should = ['/chat', '/chat?x', '/chat/', '/'].map((url) => env.wss.shouldHandle({ url }));
      return { other, head, should };
    });
  });

  it('runs verifyClient in its sync form with ws info', async () => {
    await differential(async (Server) => {
      const infos = [];
      const env = await start(Server, {
        verifyClient: (info) => {
          infos.push([info.origin, info.secure, info.req.url]);
          return info.req.url !== '/deny';
        },
      });
      const denied = await rawRefusal(env, upgradeRequest('/deny', { Origin: 'http://a.example' }));
      const { head } = await rawUpgrade(env, upgradeRequest('/ok', { Origin: 'http://b.example' }));
      const v8 = await rawUpgrade(env, upgradeRequest('/v8', { 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Origin': 'http://c.example' }));
      return { denied, head, v8: v8.head, infos };
    });
  });

  it('runs verifyClient in its callback form, with a status, message and headers', async () => {
    await differential(async (Server) => {
      const env = await start(Server, {
        verifyClient: (info, done) => {
          if (info.req.url === '/deny') setImmediate(() => done(false, 403, 'Nope', { 'X-Reason': 'policy' }));
          else if (info.req.url === '/bare') done(false);
          else setImmediate(() => done(true));
        },
      });
      const denied = await rawRefusal(env, upgradeRequest('/deny'));
      const bare = await rawRefusal(env, upgradeRequest('/bare'));
      const { client } = await pair(env, { path: '/late' });
      return { denied, bare, open: client.readyState };
    });
  });

  it('lets a headers listener add lines to the 101', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const seen = [];
      env.wss.on('headers', (headers, req) => {
        seen.push([...headers], req.url);
        headers.push('Set-Cookie: session=abc');
        headers.push('X-Served-By: test');
      });
      const { head } = await rawUpgrade(env, upgradeRequest('/h', { 'Sec-WebSocket-Protocol': 'p' }));
      return { head, seen };
    });
  });

  it('ignores permessage-deflate offers (compression off)', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { head } = await rawUpgrade(
        env,
        upgradeRequest('/', { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' })
      );
      const { client, ws } = await pair(env, { options: { perMessageDeflate: true } });
      return { head, client: client.extensions, server: ws.extensions };
    });
  });

  it('works over an https server (TLS sockets stay Node\'s)', async () => {
    await differential(async (Server) => {
      const env = await start(Server, {}, { secure: true });
      const { client, ws } = await pair(env);
      const received = recordMessages(ws);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      const echoes = recordMessages(client);
      client.send('over tls');
      client.send(Buffer.from([9, 8, 7]));
      await until(() => echoes.length === 2, 5000, 'two echoes');
      const closing = once(ws, 'close');
      client.close(4000, 'tls bye');
      const [code, reason] = await closing;
      return { received, echoes, close: [code, reason.toString()] };
    });
  });
});

describe('ws face: servers of their own and noServer mode', () => {
  it('{ port } listens, answers plain HTTP with 426, and closes its server', async () => {
    await differential(async (Server) => {
      const log = [];
      const wss = new Server({ port: 0, host: '127.0.0.1', backlog: 16 }, () => log.push('callback'));
      defer(() => wss.close());
      wss.on('listening', () => log.push('listening'));
      await until(() => log.length === 2, 5000, 'listening');
      const { address, family } = wss.address();
      const { port } = wss.address();
      const plain = await rawRefusal(
        { port, secure: false },
        'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
      );
      const env = { wss, port, url: `ws://127.0.0.1:${port}` };
      const { client } = await pair(env);
      wss.close((...args) => log.push(['close', args.length]));
      log.push(['after close', wss.address(), client.readyState]);
      // ws 8 leaves clients open: the server's 'close' waits for them to go.
      const echoes = recordMessages(client);
      client.send('still here');
      for (const ws of wss.clients) ws.on('message', (data) => ws.send(data));
      await until(() => echoes.length === 1, 5000, 'an echo after close()');
      log.push('client closes');
      client.close();
      await until(() => log.length === 5, 5000, "the server's close");
      const refused = await new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('connect', () => resolve('connected') || socket.destroy());
        socket.on('error', (err) => resolve(err.code));
      });
      return { address, family, plain: withoutDate(plain), log, echoes, refused };
    });
  });

  it('forwards the http server\'s errors', async () => {
    await differential(async (Server) => {
      const blocker = net.createServer();
      await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      defer(() => new Promise((resolve) => blocker.close(resolve)));
      const wss = new Server({ port: blocker.address().port, host: '127.0.0.1' });
      const [err] = await once(wss, 'error');
      return [err.code, err.syscall];
    });
  });

  it('noServer: handleUpgrade completes upgrades the application routes', async () => {
    await differential(async (Server) => {
      const httpServer = http.createServer();
      const wss = new Server({ noServer: true });
      httpServer.on('upgrade', (req, socket, head) => {
        if (req.url === '/ws') wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
        else socket.destroy();
      });
      defer(() => closeHttp(httpServer));
      wss.on('connection', (ws) => defer(() => ws.terminate()));
      await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
      const env = { wss, port: httpServer.address().port, url: `ws://127.0.0.1:${httpServer.address().port}` };
      const { client, ws, req } = await pair(env, { path: '/ws' });
      const echoes = recordMessages(client);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      client.send('routed');
      await until(() => echoes.length === 1, 5000, 'an echo');
      const address = thrown(() => wss.address());
      const closed = [];
      wss.close(() => closed.push('close'));
      // Clients are left alone; new upgrades are refused with 503.
      const refused = await rawRefusal(env, upgradeRequest('/ws'));
      client.close();
      await until(() => closed.length === 1, 5000, "the server's close");
      return { url: req.url, echoes, address, refused, closed, clients: wss.clients.size };
    });
  });

  it('throws when handleUpgrade is called twice with one socket', async () => {
    await differential(async (Server) => {
      const httpServer = http.createServer();
      const wss = new Server({ noServer: true });
      const errors = [];
      httpServer.on('upgrade', (req, socket, head) => {
        const done = (ws) => wss.emit('connection', ws, req);
        wss.handleUpgrade(req, socket, head, done);
        errors.push(thrown(() => wss.handleUpgrade(req, socket, head, done)));
      });
      defer(() => closeHttp(httpServer));
      wss.on('connection', (ws) => defer(() => ws.terminate()));
      await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
      const env = { wss, port: httpServer.address().port, url: `ws://127.0.0.1:${httpServer.address().port}` };
      await pair(env);
      return errors;
    });
  });

  it('refuses conflicting options with ws\'s TypeError', async () => {
    await differential(async (Server) => [
      thrown(() => new Server({})),
      thrown(() => new Server({ noServer: true, port: 0 })),
      thrown(() => new Server({ noServer: true, server: http.createServer() })),
    ]);
  });

  it('exposes ws\'s option defaults on wss.options', async () => {
    await differential(async (Server) => {
      const wss = new Server({ noServer: true });
      const keys = ['maxPayload', 'clientTracking', 'closeTimeout', 'perMessageDeflate', 'skipUTF8Validation', 'path', 'noServer', 'port', 'host', 'backlog', 'verifyClient', 'handleProtocols', 'autoPong', 'allowSynchronousEvents'];
      return Object.fromEntries(keys.map((k) => [k, wss.options[k]]));
    });
  });

  it('refuses perMessageDeflate and other options it cannot honour, saying so', () => {
    const { WebSocketServer } = ferrows;
    for (const perMessageDeflate of [true, {}, { threshold: 1024 }]) {
      expect(() => new WebSocketServer({ noServer: true, perMessageDeflate })).toThrow(/perMessageDeflate.*not supported/);
    }
    expect(() => new WebSocketServer({ noServer: true, WebSocket: WS.WebSocket })).toThrow(/WebSocket option/);
    expect(() => new WebSocketServer({ noServer: true, perMessageDeflate: false })).not.toThrow();
    expect(() => new WebSocketServer({ noServer: true, maxBackpressure: 'big' })).toThrow(/maxBackpressure/);
  });
});

describe('ws face: the server\'s clients and close()', () => {
  it('tracks open clients, and drops them before their close listeners run', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const a = await pair(env);
      const b = await pair(env);
      const sizes = [env.wss.clients.size, env.wss.clients.has(a.ws), env.wss.clients.has(b.ws)];
      const inHandler = [];
      a.ws.on('close', () => inHandler.push(env.wss.clients.has(a.ws), env.wss.clients.size, a.ws.readyState));
      a.client.close();
      await until(() => inHandler.length === 3, 5000, "a's close");
      const untracked = await start(Server, { clientTracking: false });
      await pair(untracked);
      return { sizes, inHandler, untracked: untracked.wss.clients };
    });
  });

  it('close() with { server } waits for tracked clients, leaves them open, and errs when repeated', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const log = [];
      env.wss.on('close', () => log.push('close event'));
      env.wss.close((...args) => log.push(['callback', args.length]));
      log.push(['states', client.readyState, ws.readyState, env.wss.address()]);
      const closing = once(client, 'close');
      ws.close(4000, 'done');
      await closing;
      await until(() => log.length === 3, 5000, "the server's close");
      env.wss.close((err) => log.push(describeError(err)));
      await until(() => log.length === 5, 5000, 'the second close');
      return log;
    });
  });

  it('close() without client tracking emits close at once', async () => {
    await differential(async (Server) => {
      const env = await start(Server, { clientTracking: false });
      const { client } = await pair(env);
      const log = [];
      env.wss.close(() => log.push(['closed', client.readyState]));
      await until(() => log.length === 1, 5000, "the server's close");
      return log;
    });
  });
});

describe('ws face: messages', () => {
  it('delivers text and binary messages as Buffers with isBinary', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const log = recordMessages(ws);
      const big = Buffer.alloc(200 * 1024, 7);
      client.send('héllo');
      client.send(Buffer.from([0, 1, 2]));
      client.send('');
      client.send(Buffer.alloc(0));
      client.send(big);
      await until(() => log.length === 5, 5000, 'five messages');
      log[4][0][1] = log[4][0][1].length;
      return log;
    });
  });

  it('converts binary messages by binaryType; text stays a Buffer', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const log = recordMessages(ws);
      const types = [];
      for (const type of ['arraybuffer', 'fragments', 'blob', 'nodebuffer']) {
        ws.binaryType = type;
        ws.binaryType = 'invalid';
        types.push(ws.binaryType);
        const before = log.length;
        client.send(Buffer.from([1, 2, 3]));
        client.send('t');
        await until(() => log.length === before + 2, 5000, `messages as ${type}`);
      }
      return { types, log };
    });
  });

  it('sends every data type, option and callback as ws does', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const received = recordMessages(client);
      const callbacks = [];
      const cb = (name) => (...args) => callbacks.push([name, args.length, describeError(args[0])]);
      const ab = new Uint8Array([5, 6]).buffer;
      ws.send('text', cb('text'));
      ws.send(Buffer.from('buf'), cb('buffer'));
      ws.send(new Uint8Array([1, 2]), {}, cb('uint8'));
      ws.send(ab);
      ws.send(new DataView(new Uint8Array([3, 4, 5]).buffer, 1, 2));
      ws.send(42);
      ws.send('as binary', { binary: true });
      ws.send(Buffer.from('as text'), { binary: false });
      ws.send('');
      ws.send(undefined);
      ws.send(new Blob(['blob ', 'data']), cb('blob'));
      ws.send('after blob', cb('after blob'));
      ws.send('frag-', { fin: false }, cb('part 1'));
      ws.send('mented', { fin: true }, cb('part 2'));
      ws.send([104, 105]);
      ws.send('big'.repeat(100000), { compress: true, mask: false });
      // Sixteen sends, two of them parts of one message.
      const expected = 15;
      await until(() => received.length === expected && callbacks.length === 7, 5000, 'every message and callback');
      received[expected - 1][0][1] = received[expected - 1][0][1].length;
      callbacks.sort((x, y) => (x[0] < y[0] ? -1 : 1));
      return { received, callbacks, bufferedAmount: ws.bufferedAmount };
    });
  });

  it('calls back with ws\'s error after close, and counts the bytes in bufferedAmount', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { ws } = await pair(env);
      const errors = [];
      ws.close();
      const state = ws.readyState;
      ws.send('abc', (err) => errors.push(['send', describeError(err)]));
      ws.send(Buffer.alloc(5));
      ws.ping((err) => errors.push(['ping', describeError(err)]));
      ws.pong('xy', undefined, (err) => errors.push(['pong', describeError(err)]));
      const buffered = ws.bufferedAmount;
      await until(() => errors.length === 3, 5000, 'three callbacks');
      return { state, errors, buffered };
    });
  });

  it('fails a message over maxPayload: error event, 1006 here, 1009 to the client', async () => {
    await differential(async (Server) => {
      const env = await start(Server, { maxPayload: 1024 });
      const { client, ws } = await pair(env);
      const log = recordMessages(ws);
      const errors = [];
      ws.on('error', (err) => errors.push(describeError(err)));
      const serverClose = once(ws, 'close');
      const clientClose = once(client, 'close');
      client.send(Buffer.alloc(1024, 1));
      await until(() => log.length === 1, 5000, 'the largest allowed message');
      client.send(Buffer.alloc(1025, 1));
      const [code, reason] = await serverClose;
      const [clientCode] = await clientClose;
      return { log: log.map(([[type, hex], bin]) => [type, hex.length, bin]), errors, server: [code, reason.length], clientCode, state: ws.readyState };
    });
  });

  for (const [name, bad, closeCode] of [
    ['an unmasked frame', frame(0x1, 'hi', { mask: false }), 1002],
    ['invalid UTF-8', frame(0x1, Buffer.from([0xff, 0xfe])), 1007],
    ['a fragmented ping', frame(0x9, 'x', { fin: false }), 1002],
    ['a reserved bit', frame(0x1, 'x', { rsv: 4 }), 1002],
  ]) {
    it(`reports ${name} as ws does (client sees ${closeCode})`, async () => {
      await differential(async (Server) => {
        const env = await start(Server);
        const connection = once(env.wss, 'connection');
        const { socket } = await rawUpgrade(env, upgradeRequest('/'));
        const [ws] = await connection;
        const errors = [];
        ws.on('error', (err) => errors.push(describeError(err)));
        const closing = once(ws, 'close');
        socket.write(bad);
        const { code } = await closeFrame(socket);
        const [serverCode, reason] = await closing;
        // The close frame's reason differs (ws sends none, the engine a sentence): not compared.
        return { errors, code, server: [serverCode, reason.toString()] };
      });
    });
  }
});

describe('ws face: closing', () => {
  it('reports the client\'s code and reason as a Buffer', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const seen = [];
      ws.on('close', (code, reason) => seen.push([code, describeData(reason), ws.readyState]));
      const clientClose = once(client, 'close');
      client.close(4000, 'bye');
      const [code, reason] = await clientClose;
      await until(() => seen.length === 1, 5000, "the server's close");
      return { seen, client: [code, reason.toString()] };
    });
  });

  it('closes from the server with a code and reason, a Buffer reason, or none', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const results = [];
      for (const args of [[4001, 'srv'], [1000, Buffer.from('buf')], [], [1001]]) {
        const { client, ws } = await pair(env);
        const serverClose = once(ws, 'close');
        const clientClose = once(client, 'close');
        ws.close(...args);
        const state = ws.readyState;
        ws.close(4002, 'ignored');
        const [[code, reason], [ccode, creason]] = await Promise.all([serverClose, clientClose]);
        results.push({ state, server: [code, reason.toString()], client: [ccode, creason.toString()], after: ws.readyState });
      }
      return results;
    });
  });

  it('terminate() reports 1006 on both ends', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const serverClose = once(ws, 'close');
      const clientClose = once(client, 'close');
      ws.terminate();
      const state = ws.readyState;
      const [[code, reason], [ccode]] = await Promise.all([serverClose, clientClose]);
      ws.terminate();
      return { state, server: [code, describeData(reason)], client: ccode, after: ws.readyState };
    });
  });

  it('validates close arguments as ws does', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const errors = [
        thrown(() => ws.close(999)),
        thrown(() => ws.close(1005)),
        thrown(() => ws.close('1000')),
        thrown(() => ws.close(1000, 'x'.repeat(124))),
        thrown(() => ws.close(1000, { length: 2 })),
      ];
      const state = ws.readyState;
      const clientClose = once(client, 'close');
      ws.close(1000, 123);
      const [code, reason] = await clientClose;
      return { errors, state, client: [code, reason.toString()] };
    });
  });
});

describe('ws face: ping, pong, pause', () => {
  it('pings and pongs both ways with callbacks and events', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const log = [];
      const record = (who, event) => (data) => log.push([who, event, describeData(data)]);
      ws.on('ping', record('server', 'ping'));
      ws.on('pong', record('server', 'pong'));
      client.on('ping', record('client', 'ping'));
      client.on('pong', record('client', 'pong'));
      const callbacks = [];
      ws.ping('p1', undefined, (...args) => callbacks.push(['ping', args]));
      await until(() => log.length === 2, 5000, 'ping and auto pong');
      ws.pong(Buffer.from('p2'), (...args) => callbacks.push(['pong', args]));
      await until(() => log.length === 3, 5000, 'the pong');
      ws.ping((...args) => callbacks.push(['empty ping', args]));
      await until(() => log.length === 5, 5000, 'the empty ping');
      client.ping('c1');
      await until(() => log.length === 7, 5000, "the client's ping");
      ws.ping(7);
      await until(() => log.length === 9, 5000, 'the number ping');
      const oversized = thrown(() => ws.ping(Buffer.alloc(126)));
      log.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
      return { log, callbacks, oversized };
    });
  });

  it('pause() holds messages until resume()', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const log = [];
      ws.on('message', (data) => log.push(['message', data.toString(), ws.isPaused]));
      ws.pause();
      log.push(['paused', ws.isPaused]);
      const written = new Promise((resolve) => client.send('a', () => client.send('b', resolve)));
      await written;
      // Absence can only be observed over time: the messages are in the server's kernel buffer.
      await new Promise((resolve) => setTimeout(resolve, 150));
      log.push(['resume']);
      ws.resume();
      await until(() => log.length === 4, 5000, 'the held messages');
      return log;
    });
  });
});

describe('ws face: the WebSocket option', () => {
  it('makes every connection with the given class, which extends the face\'s socket class', async () => {
    await differential(async (Server, name) => {
      // ws's users extend ws's WebSocket; ferrows's extend the face's class, WsSocket.
      const Base = name === 'ws' ? WS.WebSocket : ferrows.WsSocket;
      class Tagged extends Base {
        constructor(...args) {
          super(...args);
          this.tag = 'made by the server';
        }

        get kind() {
          return 'tagged';
        }

        shout(text) {
          this.send(text.toUpperCase());
        }
      }
      const env = await start(Server, { WebSocket: Tagged });
      const { client, ws } = await pair(env);
      const echoes = recordMessages(client);
      ws.on('message', (data) => ws.shout(data.toString()));
      client.send('hello');
      await until(() => echoes.length === 1, 5000, 'the shouted echo');
      const closing = once(ws, 'close');
      client.close(4000, 'bye');
      const [code] = await closing;
      return {
        option: env.wss.options.WebSocket === Tagged,
        instance: [ws instanceof Tagged, ws instanceof Base, ws.constructor === Tagged],
        fields: [ws.tag, ws.kind, ws.OPEN, Tagged.OPEN],
        echoes,
        code,
        tracked: env.wss.clients.size,
      };
    });
  });

  it('refuses a class that does not extend WsSocket, with a TypeError naming it', () => {
    const { WebSocketServer, WsSocket } = ferrows;
    const EventEmitter = require('events');
    const refused = [WS.WebSocket, ferrows.WebSocket, class extends EventEmitter {}, () => {}, {}, 'WsSocket', 1];
    for (const WebSocket of refused) {
      expect(() => new WebSocketServer({ noServer: true, WebSocket })).toThrow(TypeError);
      expect(() => new WebSocketServer({ noServer: true, WebSocket })).toThrow(/WebSocket option must be WsSocket or a class that extends it/);
    }
    expect(new WebSocketServer({ noServer: true }).options.WebSocket).toBe(WsSocket);
    expect(new WebSocketServer({ noServer: true, WebSocket: undefined }).options.WebSocket).toBe(WsSocket);
    expect(new WebSocketServer({ noServer: true, WebSocket: WsSocket }).options.WebSocket).toBe(WsSocket);
    // ferrows/ws names the class as ws does; the package entry keeps that name for the native
    // face's class.
    expect(require('ferrows/ws').WebSocket).toBe(WsSocket);
    expect(require('ferrows/ws').Server).toBe(WebSocketServer);
    expect(ferrows.WebSocket).not.toBe(WsSocket);
  });

  // Not differential: ws throws before its 101 and leaves the client waiting; the engine has
  // answered the 101 by then, so the connection is cut.
  it('a class whose constructor throws: handleUpgrade throws, the client is cut, nothing leaks', async () => {
    class Failing extends ferrows.WsSocket {
      constructor(...args) {
        super(...args);
        throw new Error('no room');
      }
    }
    const httpServer = http.createServer();
    const wss = new ferrows.WebSocketServer({ noServer: true, WebSocket: Failing });
    const thrown = [];
    httpServer.on('upgrade', (req, socket, head) => {
      try {
        wss.handleUpgrade(req, socket, head, () => thrown.push('callback'));
      } catch (err) {
        thrown.push(err.message);
      }
    });
    defer(() => closeHttp(httpServer));
    defer(() => new Promise((resolve) => wss.close(resolve)));
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const client = new WS(`ws://127.0.0.1:${httpServer.address().port}`);
    client.on('error', () => {});
    const [code] = await once(client, 'close');
    expect(thrown).toEqual(['no room']);
    expect(code).toBe(1006);
    expect(wss.clients.size).toBe(0);
    await until(() => wss._engine.size === 0, 5000, 'the engine to forget the connection');
  });
});

describe('ws face: autoPong: false', () => {
  it('leaves pings to the application: a ws client gets a pong only when the app sends one', async () => {
    await differential(async (Server) => {
      const env = await start(Server, { autoPong: false });
      const { client, ws } = await pair(env);
      const log = [];
      const messages = () => log.filter(([what]) => what === 'client message').length;
      client.on('pong', (data) => log.push(['client pong', data.toString()]));
      client.on('message', (data) => log.push(['client message', data.toString()]));
      ws.on('ping', (data) => log.push(['server ping', data.toString()]));
      ws.on('message', (data) => ws.send(data));
      // The echo leaves after the server has read the ping, so a pong would arrive before it.
      client.ping('x');
      client.send('after x');
      await until(() => messages() === 1, 5000, 'the first echo');
      ws.on('ping', (data) => ws.pong(data));
      client.ping('y');
      client.send('after y');
      await until(() => messages() === 2, 5000, 'the second echo');
      return { log, option: env.wss.options.autoPong };
    });
  });

  it('leaves pings to the application: a raw client sees only the pongs the app sends', async () => {
    await differential(async (Server) => {
      const env = await start(Server, { autoPong: false });
      const connection = once(env.wss, 'connection');
      const { socket } = await rawUpgrade(env, upgradeRequest('/'));
      const [ws] = await connection;
      const pings = [];
      ws.on('ping', (data) => {
        pings.push(data.toString());
        if (data.toString() === 'answer me') ws.pong(data);
      });
      ws.on('message', (data) => ws.send(data));
      const received = () => {
        const frames = socket.received.subarray(socket.received.indexOf('\r\n\r\n') + 4);
        return parseFrames(frames).map((f) => [f.opcode, f.payload.toString()]);
      };
      socket.write(Buffer.concat([frame(0x9, 'ignored'), frame(0x1, 'probe 1')]));
      await until(() => received().length === 1, 5000, 'the first echo');
      socket.write(Buffer.concat([frame(0x9, 'answer me'), frame(0x1, 'probe 2')]));
      await until(() => received().length === 3, 5000, 'the pong and the second echo');
      return { frames: received(), pings };
    });
  });

  it('still answers pings itself by default', async () => {
    const env = await start(ferrows.WebSocketServer);
    const { client, ws } = await pair(env);
    const log = [];
    ws.on('ping', (data) => log.push(['server ping', data.toString()]));
    client.on('pong', (data) => log.push(['client pong', data.toString()]));
    client.ping('auto');
    await until(() => log.length === 2, 5000, 'the ping and its pong');
    expect(log.map(([what]) => what).sort()).toEqual(['client pong', 'server ping']);
    expect(env.wss.options.autoPong).toBe(true);
  });
});

describe('ws face: socket API shape', () => {
  it('has ws\'s readyState constants, static and on instances', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { ws } = await pair(env);
      const names = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
      return {
        instance: names.map((n) => ws[n]),
        static: names.map((n) => ws.constructor[n]),
        emitter: typeof ws.on === 'function' && typeof ws.once === 'function',
      };
    });
  });

  it('supports addEventListener and the on<event> attributes', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const log = [];
      const onmessage = (event) => log.push(['onmessage', event.type, describeData(event.data), event.target === ws]);
      ws.onmessage = onmessage;
      const attribute = ws.onmessage === onmessage;
      const once = { handleEvent: (event) => log.push(['once', describeData(event.data)]) };
      ws.addEventListener('message', once, { once: true });
      ws.addEventListener('unknown', () => log.push('never'));
      const removed = () => log.push('removed');
      ws.addEventListener('message', removed);
      ws.removeEventListener('message', removed);
      ws.addEventListener('close', (event) => log.push(['close', event.type, event.code, event.reason, event.wasClean]));
      client.send('one');
      client.send(Buffer.from([1]));
      await until(() => log.length === 3, 5000, 'two messages');
      ws.onmessage = null;
      client.close(4005, 'ev');
      await until(() => log.length === 4, 5000, 'the close event');
      return { log, attribute, cleared: ws.onmessage, onclose: ws.onclose, onerror: ws.onerror };
    });
  });
});

describe('ws face: hostile or departed clients', () => {
  it('drops a client that left while verifyClient was deciding', async () => {
    await differential(async (Server) => {
      const pending = [];
      const env = await start(Server, { verifyClient: (info, done) => pending.push([info.req.socket, done]) });
      const connections = [];
      env.wss.on('connection', (ws) => connections.push(ws));
      const socket = rawClient(env);
      socket.write(upgradeRequest('/'));
      await until(() => pending.length === 1, 5000, 'the verification');
      const [serverSide, done] = pending[0];
      socket.destroy();
      await until(() => !serverSide.readable, 5000, 'the server to see the client leave');
      done(true);
      const client = new WS(env.url);
      defer(() => client.terminate());
      await until(() => pending.length === 2, 5000, 'the second verification');
      pending[1][1](true);
      await once(client, 'open');
      return { connections: connections.length, open: client.readyState };
    });
  });

  // Not differential: ws throws an unhandled 'error' here and the process dies.
  it('never throws for a client\'s protocol error when nobody listens for error', async () => {
    const env = await start(ferrows.WebSocketServer);
    const connection = once(env.wss, 'connection');
    const { socket } = await rawUpgrade(env, upgradeRequest('/'));
    const [ws] = await connection;
    const closing = once(ws, 'close');
    socket.write(frame(0x1, 'hi', { mask: false }));
    const [code] = await closing;
    expect(code).toBe(1006);
    expect((await closeFrame(socket)).code).toBe(1002);
  });

  // Not differential: ws skips the check on request; ferrows always validates (documented).
  it('validates UTF-8 even with skipUTF8Validation', async () => {
    const env = await start(ferrows.WebSocketServer, { skipUTF8Validation: true });
    const connection = once(env.wss, 'connection');
    const { socket } = await rawUpgrade(env, upgradeRequest('/'));
    await connection;
    socket.write(frame(0x1, Buffer.from([0xc3, 0x28])));
    expect((await closeFrame(socket)).code).toBe(1007);
  });
});
