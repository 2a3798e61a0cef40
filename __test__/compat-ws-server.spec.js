'use strict';

// The ws face's WebSocketServer against ws's own (see compat-ws-helpers.js): a server of its own
// ({ port }), noServer with handleUpgrade, its options, client tracking and close().

const http = require('http');
const net = require('net');
const WS = require('ws');
const ferrows = require('..');
const { once, until, upgradeRequest, rawClient, readResponse } = require('./helpers');
const { differential, defer, cleanUp, closeHttp, start, pair, rawRefusal, describeError, recordMessages, thrown } = require('./compat-ws-helpers');

afterEach(cleanUp);

/** A ws client of `url` that records its close code in `closes` as ['client', code]. */
function clientRecordingClose(url, closes) {
  const client = new WS(url);
  defer(() => client.terminate());
  client.on('error', () => {});
  client.on('close', (code) => closes.push(['client', code]));
  return client;
}

function withoutDate(response) {
  return response.replace(/^Date: .*\r\n/m, '');
}

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

  it("ws's module form: the module is the class, with Server and the states on it", async () => {
    for (const WebSocket of [WS, require('ferrows/ws')]) {
      const wss = new WebSocket.Server({ port: 0, host: '127.0.0.1' });
      await once(wss, 'listening');
      wss.on('connection', (ws) =>
        ws.on('message', (data) => {
          // The broadcast of ws's README.
          wss.clients.forEach((client) => {
            if (client.readyState === WebSocket.OPEN) client.send(data);
          });
        })
      );
      const client = new WS(`ws://127.0.0.1:${wss.address().port}/`);
      await once(client, 'open');
      client.send('to all');
      const [data] = await once(client, 'message');
      expect(data.toString()).toBe('to all');
      client.close();
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it('ws._socket shows the addresses, takes socket options, and lets createWebSocketStream end cleanly', async () => {
    const seen = [];
    for (const Server of [WS.WebSocketServer, ferrows.WebSocketServer]) {
      const httpServer = http.createServer();
      const wss = new Server({ server: httpServer });
      await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
      const opened = once(wss, 'connection');
      const client = new WS(`ws://127.0.0.1:${httpServer.address().port}/`);
      const messages = recordMessages(client);
      const closed = once(client, 'close');
      const [ws, req] = await opened;
      const socket = ws._socket;
      const addresses = [socket.remoteAddress, socket.remotePort === req.socket.remotePort, socket.localPort === httpServer.address().port];
      expect(socket.setKeepAlive(true, 30000)).toBe(socket);
      expect(socket.setNoDelay(true)).toBe(socket);
      const duplex = WS.createWebSocketStream(ws);
      const errors = [];
      duplex.on('error', (err) => errors.push(err.message));
      duplex.end('bye');
      const [code] = await closed;
      seen.push({
        addresses,
        messages,
        code,
        errors,
      });
      await new Promise((resolve) => wss.close(resolve));
      await closeHttp(httpServer);
    }
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[1].code).toBe(1005);
  });

  it('a server-side stream over a connection ends, finishes and closes, as over ws', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const clientClosed = once(client, 'close');
      const duplex = WS.createWebSocketStream(ws);
      const events = [];
      for (const event of ['finish', 'end', 'close']) duplex.on(event, () => events.push(event));
      const closed = once(duplex, 'close');
      duplex.resume();
      duplex.end('bye');
      await closed;
      const [code] = await clientClosed;
      return { events, code };
    });
  });

  it('bufferedAmount reads 0 right after a send on a link that keeps up, as in ws', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const received = recordMessages(client);
      ws.send(Buffer.alloc(1024));
      const afterOne = ws.bufferedAmount;
      // The usual loop of a server that skips frames for a slow client.
      let sent = 0;
      for (let i = 0; i < 50; i++) {
        if (ws.bufferedAmount === 0) {
          ws.send(Buffer.alloc(100));
          sent++;
        }
      }
      await until(() => received.length === 1 + sent, 5000, 'every message');
      return { afterOne, sent };
    });
  });

  it('cuts a client that pings faster than it reads once 60 automatic pongs are unwritten', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const raw = rawClient(env);
      defer(() => raw.destroy());
      const connected = once(env.wss, 'connection');
      raw.write(upgradeRequest('/'));
      await readResponse(raw);
      const [ws] = await connected;
      const closed = once(ws, 'close', 25000);
      raw.pause();
      // Empty pings (masked, no payload) until the server's socket is full of pongs.
      const burst = Buffer.concat(Array.from({ length: 50000 }, () => Buffer.from([0x89, 0x80, 0, 0, 0, 0])));
      for (let i = 0; i < 100; i++) raw.write(burst);
      const [code] = await closed;
      return code;
    });
  }, 60000);

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

  // A graceful shutdown (stop taking connections, let the open ones finish) as socket.io and
  // engine.io build it on `httpServer.close()`: its callback waits for the upgraded connections.
  it.each([
    ['{ server }', 'server'],
    ['noServer and handleUpgrade', 'noServer'],
  ])('httpServer.close() waits for open WebSocket connections (%s), which keep working', async (_, mode) => {
    await differential(async (Server) => {
      const httpServer = http.createServer();
      const wss = mode === 'server' ? new Server({ server: httpServer }) : new Server({ noServer: true });
      if (mode === 'noServer') {
        httpServer.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
      }
      defer(() => closeHttp(httpServer));
      wss.on('connection', (ws) => {
        defer(() => ws.terminate());
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
      await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
      const env = { wss, url: `ws://127.0.0.1:${httpServer.address().port}` };
      const { client } = await pair(env);
      const log = [];
      const count = () => new Promise((resolve) => httpServer.getConnections((err, n) => resolve(err ? err.code : n)));
      log.push(['connections', await count()]);
      httpServer.close(() => log.push(['http close']));
      await new Promise((resolve) => setImmediate(resolve));
      const echoes = recordMessages(client);
      client.send('still here');
      await until(() => echoes.length === 1, 5000, 'an echo after close()');
      log.push(['echo', echoes[0]], ['connections', await count()]);
      client.close();
      await until(() => log.length === 4, 5000, "the http server's close");
      return log;
    });
  });

  // stoppable, http-terminator and server-destroy track the sockets of 'connection' (dropping
  // each on its 'close') and destroy those still open once close() is called.
  it.each([['{ server }', 'server'], ['noServer and handleUpgrade', 'noServer']])(
    'a shutdown that tracks sockets ends open WebSocket connections and closes (%s)',
    async (_, mode) => {
      await differential(async (Server) => {
        const httpServer = http.createServer();
        const sockets = new Set();
        const log = [];
        httpServer.on('connection', (socket) => {
          sockets.add(socket);
          socket.on('close', () => {
            sockets.delete(socket);
            log.push(['socket close']);
          });
        });
        const wss = mode === 'server' ? new Server({ server: httpServer }) : new Server({ noServer: true });
        if (mode === 'noServer') {
          httpServer.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
        }
        wss.on('connection', (ws, req) => {
          log.push(['connection', req.socket.destroyed, sockets.has(req.socket)]);
          ws.on('close', (code) => log.push(['ws close', code]));
        });
        defer(() => closeHttp(httpServer));
        await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
        const client = new WS(`ws://127.0.0.1:${httpServer.address().port}`);
        defer(() => client.terminate());
        client.on('error', () => {});
        await once(client, 'open');
        await until(() => log.length === 1, 5000, "the server's connection");
        log.push(['tracked', sockets.size]);
        const clientClosed = once(client, 'close');
        const closed = new Promise((resolve) => httpServer.close(resolve));
        for (const socket of sockets) socket.destroy();
        await closed;
        const [code] = await clientClosed;
        await until(() => log.length === 4, 5000, 'the ends');
        const [first, tracked, ...ends] = log;
        return { first, tracked, ends: ends.sort(), client: code };
      });
    }
  );

  it("req.socket ends with the connection, counted by the http server until then", async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const log = [];
      const count = () => new Promise((resolve) => env.httpServer.getConnections((err, n) => resolve(n)));
      env.wss.on('connection', (ws, req) => {
        log.push(['open', req.socket.destroyed]);
        req.socket.on('close', () => log.push(['socket close']));
        ws.on('close', () => log.push(['ws close']));
      });
      const { client } = await pair(env);
      log.push(['connections', await count()]);
      client.close();
      await until(() => log.length === 4, 5000, 'both closes');
      log.push(['connections', await count()]);
      return [log[0], log[1], log.slice(2, 4).sort(), log[4]];
    });
  });

  it.each(['destroy', 'end'])("req.socket.%s(cb) in 'connection' cuts the connection and calls cb", async (method) => {
    await differential(async (Server) => {
      const env = await start(Server);
      const closes = [];
      env.wss.on('connection', (ws, req) => {
        ws.on('close', (code) => closes.push(['server', code]));
        req.socket[method](method === 'destroy' ? null : undefined, () => closes.push(['callback']));
      });
      clientRecordingClose(env.url, closes);
      await until(() => closes.length === 3, 5000, 'both closes and the callback');
      return closes.sort();
    });
  });

  it('destroying the socket handed to handleUpgrade cuts the connection, as engine.io does to refuse one', async () => {
    await differential(async (Server) => {
      const httpServer = http.createServer();
      const wss = new Server({ noServer: true });
      const closes = [];
      httpServer.on('upgrade', (req, socket, head) => {
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('close', (code) => closes.push(['server', code]));
          // engine.io's abortUpgrade after a refused handshake (an old protocol, generateId).
          socket.destroy();
        });
      });
      defer(() => closeHttp(httpServer));
      await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
      clientRecordingClose(`ws://127.0.0.1:${httpServer.address().port}`, closes);
      await until(() => closes.length === 2, 5000, 'both closes');
      return closes.sort();
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

  it('takes perMessageDeflate as ws does, and refuses options it cannot honour, saying so', () => {
    const { WebSocketServer } = ferrows;
    for (const perMessageDeflate of [true, {}, { threshold: 1024, concurrencyLimit: 4 }]) {
      expect(() => new WebSocketServer({ noServer: true, perMessageDeflate })).not.toThrow();
    }
    expect(() => new WebSocketServer({ noServer: true, perMessageDeflate: { serverMaxWindowBits: 30 } })).toThrow(
      /perMessageDeflate\.serverMaxWindowBits/
    );
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
