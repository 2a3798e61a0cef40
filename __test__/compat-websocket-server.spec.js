'use strict';

// The websocket-package face's exports and its server as a whole against the package (see
// compat-websocket-helpers.js): broadcasts, connection order, size limits, keepalive, protocol
// failures, https servers, the router, and input that must never throw.

const path = require('path');
const websocket = require('websocket');
const ferrows = require('..');
const { once, until, frame, upgradeRequest, readResponse, rawClient, SCHEMES, useScheme } = require('./helpers');
const { WAIT, stopAll, start, same, wsClient, wsOpen, pkgConnect, wsRefusal, record, next, closedEvent } = require('./compat-websocket-helpers');

afterEach(stopAll);

describe('exports', () => {
  it('has the package server-side names, constants and close descriptions', () => {
    for (const name of ['server', 'request', 'connection', 'router', 'version', 'deprecation']) {
      expect(ferrows[name]).toBeDefined();
    }
    for (const name of Object.keys(websocket.connection).filter((k) => k.startsWith('CLOSE_'))) {
      expect(ferrows.connection[name]).toEqual(websocket.connection[name]);
    }
    expect(ferrows.client).toBeUndefined();
  });

  it("gives connections the package's _debug logger, off, that its example servers call", async () => {
    await same(async (impl) => {
      const env = await start(impl, { autoAcceptConnections: true });
      const connected = next(env.wsServer, 'connect');
      const ws = await wsOpen(env.url);
      const connection = await connected;
      const debug = [connection._debug.enabled, typeof connection._debug, connection._debug.printOutput()];
      ws.close();
      await ws.closed;
      return debug;
    });
  });

  it('requires an httpServer as the package does', () => {
    const message = (impl) => {
      try {
        new impl.server({});
      } catch (err) {
        return err.message;
      }
    };
    expect(message(ferrows)).toBe(message(websocket));
  });
});

// Every scenario below runs over plain TCP (descriptor handoff) and over TLS (byte bridge).
describe.each(SCHEMES)('over %s', (scheme) => {
  beforeAll(() => useScheme(scheme));

  describe('server', () => {
    it('broadcastUTF, broadcastBytes and broadcast reach every connection', async () => {
      await same(async (impl) => {
        const env = await start(impl, { autoAcceptConnections: true });
        const clients = [await wsOpen(env.url), await wsOpen(env.url), await wsOpen(env.url)];
        env.wsServer.broadcastUTF('hello all');
        env.wsServer.broadcastBytes(Buffer.from([9, 8, 7]));
        env.wsServer.broadcast('as text');
        env.wsServer.broadcast(Buffer.from('as bytes'));
        await until(() => clients.every((c) => c.got.length === 4), WAIT, 'four messages each');
        for (const c of clients) c.close();
        await Promise.all(clients.map((c) => c.closed));
        return clients.map((c) => c.got);
      });
    });

    it('broadcasts reach the connections of `connections`, through their own sendUTF and sendBytes', async () => {
      await same(async (impl) => {
        const env = await start(impl, { autoAcceptConnections: true });
        const [muted, heard] = [await wsOpen(env.url), await wsOpen(env.url)];
        await until(() => env.wsServer.connections.length === 2, WAIT, 'two connections');
        // The application mutes the first client and wraps the second one's sends.
        const [first, second] = env.wsServer.connections;
        env.wsServer.connections.splice(env.wsServer.connections.indexOf(first), 1);
        const wrapped = [];
        for (const name of ['sendUTF', 'sendBytes']) {
          const send = second[name];
          second[name] = function (data, cb) {
            wrapped.push(name);
            return send.call(this, data, cb);
          };
        }
        env.wsServer.broadcastUTF('news');
        env.wsServer.broadcast(Buffer.from('bytes'));
        await until(() => heard.got.length === 2, WAIT, 'two messages');
        heard.close();
        muted.close();
        await Promise.all([heard.closed, muted.closed]);
        return { muted: muted.got, heard: heard.got, wrapped };
      });
    });

    it('httpServer.close() waits for open connections, which keep working', async () => {
      await same(async (impl) => {
        const env = await start(impl, { autoAcceptConnections: true });
        env.wsServer.on('connect', (connection) => connection.on('message', (m) => connection.sendUTF(m.utf8Data)));
        const client = await wsOpen(env.url);
        const log = [];
        const count = () => new Promise((resolve) => env.httpServer.getConnections((err, n) => resolve(err ? err.code : n)));
        log.push(['connections', await count()]);
        env.httpServer.close(() => log.push(['http close']));
        await new Promise((resolve) => setImmediate(resolve));
        client.send('still here');
        await until(() => client.got.length === 1, WAIT, 'an echo after close()');
        log.push(['connections', await count()]);
        client.close();
        await until(() => log.length === 3, WAIT, "the http server's close");
        return { log, got: client.got };
      });
    });

    it('runs a request built by hand from an upgrade, without a server, as the package does', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        env.wsServer.shutDown();
        // A whole config, as the package's request and connection read it without a server.
        const config = {
          maxReceivedFrameSize: 0x10000,
          maxReceivedMessageSize: 0x100000,
          fragmentOutgoingMessages: true,
          fragmentationThreshold: 0x4000,
          keepalive: false,
          assembleFragments: true,
          closeTimeout: 5000,
          disableNagleAlgorithm: true,
          parseCookies: true,
          parseExtensions: true,
        };
        env.httpServer.on('upgrade', (req, socket) => {
          const request = new impl.request(socket, req, config);
          request.readHandshake();
          const connection = request.accept(null, request.origin);
          connection.on('message', (m) => connection.sendUTF(`echo: ${m.utf8Data}`));
        });
        const ws = await wsOpen(env.url);
        ws.send('hi');
        await until(() => ws.got.length === 1, WAIT, 'the echo');
        ws.close(1000);
        return { got: ws.got, closed: await ws.closed };
      });
    });

    it('keeps connections in accept order', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        const held = [];
        env.wsServer.on('request', (req) => held.push(req));
        const clients = ['/a', '/b', '/c'].map((p) => wsClient(env.url + p));
        await until(() => held.length === 3, WAIT, 'three requests');
        held.sort((x, y) => x.resource.localeCompare(y.resource));
        const expected = [2, 0, 1].map((i) => held[i].socket.remotePort);
        for (const i of [2, 0, 1]) held[i].accept(null, null);
        await Promise.all(clients.map((c) => once(c, 'open', WAIT)));
        const ports = env.wsServer.connections.map((c) => c.socket.remotePort);
        for (const c of clients) c.close();
        await Promise.all(clients.map((c) => c.closed));
        return { inAcceptOrder: JSON.stringify(ports) === JSON.stringify(expected), count: ports.length };
      });
    });

    it('closes a message above maxReceivedMessageSize with 1009 (fragmented by the package client)', async () => {
      await same(async (impl) => {
        // 20000 bytes go as fragments of 16384 and 3616: the limit is passed by the second one.
        const env = await start(impl, { maxReceivedMessageSize: 18000 });
        const connected = next(env.wsServer, 'connect');
        env.wsServer.on('request', (req) => record(req.accept(null, null)));
        const client = await pkgConnect(env.url);
        const connection = await connected;
        client.sendUTF('y'.repeat(20000));
        const [code] = await client.closed;
        await closedEvent(connection);
        return { clientCode: code, server: connection.events };
      });
    });

    it('closes a frame above maxReceivedFrameSize with 1009 and the package description', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        const connected = next(env.wsServer, 'connect');
        env.wsServer.on('request', (req) => record(req.accept(null, null)));
        const ws = await wsOpen(env.url);
        const connection = await connected;
        ws.send(Buffer.alloc(70000));
        const [code] = await ws.closed;
        await closedEvent(connection);
        return { clientCode: code, server: connection.events };
      });
    });

    it.each([
      ['Infinity', Infinity],
      ['past 32 bits', 2 ** 32],
      ['NaN', NaN],
      ['undefined', undefined],
    ])('takes size limits of %s as no limit, as the package does', async (_, huge) => {
      await same(async (impl) => {
        const env = await start(impl, { maxReceivedFrameSize: huge, maxReceivedMessageSize: huge });
        env.wsServer.on('request', (req) => {
          const connection = req.accept(null, null);
          connection.on('message', (m) => connection.sendUTF(`got ${m.binaryData.length}`));
        });
        const ws = await wsOpen(env.url);
        // One frame past the package's default frame limit (64 KiB) and 16-bit lengths.
        ws.send(Buffer.alloc(200000));
        await until(() => ws.got.length === 1, WAIT, 'the answer');
        ws.close();
        return ws.got;
      });
    });

    it('pings on keepalive and drops a silent peer with 1006 Peer not responding.', async () => {
      await same(async (impl) => {
        const env = await start(impl, { keepaliveInterval: 200, keepaliveGracePeriod: 200 });
        const connected = next(env.wsServer, 'connect');
        env.wsServer.on('request', (req) => record(req.accept(null, null)));
        // A raw client never answers pings.
        const socket = rawClient(env);
        socket.write(upgradeRequest('/'));
        const connection = await connected;
        const started = Date.now();
        await closedEvent(connection);
        const elapsed = Date.now() - started;
        const { rest } = await readResponse(socket);
        socket.destroy();
        return { events: connection.events, pinged: rest.length > 0 && rest[0] === 0x89, inTime: elapsed >= 350 && elapsed < 2000 };
      });
    });

    it('describes protocol failures with the package strings', async () => {
      const payloads = [
        frame(0x1, 'rsv', { rsv: 4 }),
        frame(0x1, Buffer.from([0xff, 0xfe])),
        frame(0x3, 'bad opcode'),
        frame(0x0, 'nothing to continue'),
        // A header announcing 2^40 bytes: the package refuses any length past 32 bits.
        Buffer.from([0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
      ];
      for (const bytes of payloads) {
        await same(async (impl) => {
          const env = await start(impl);
          const connected = next(env.wsServer, 'connect');
          env.wsServer.on('request', (req) => record(req.accept(null, null)));
          const socket = rawClient(env);
          socket.write(upgradeRequest('/'));
          const connection = await connected;
          await readResponse(socket);
          socket.write(bytes);
          await closedEvent(connection);
          socket.destroy();
          return connection.events;
        });
      }
    });
  });

  describe('over TLS', () => {
    it('an https server works the same (the engine bridges TLS sockets)', async () => {
      const fs = require('fs');
      const https = require('https');
      const tls = {
        key: fs.readFileSync(path.join(__dirname, 'fixtures', 'key.pem')),
        cert: fs.readFileSync(path.join(__dirname, 'fixtures', 'cert.pem')),
      };
      await same(async (impl) => {
        const httpServer = https.createServer(tls);
        const wsServer = new impl.server({ httpServer: [httpServer] });
        const connected = next(wsServer, 'connect');
        wsServer.on('request', (req) => {
          const c = record(req.accept(null, null));
          c.on('message', (m) => c.sendUTF(`echo ${m.utf8Data}`));
        });
        await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
        const ws = await wsOpen(`wss://127.0.0.1:${httpServer.address().port}`, [], { rejectUnauthorized: false });
        const connection = await connected;
        ws.send('over tls');
        await until(() => ws.got.length === 1, WAIT, 'the echo');
        connection.close(4010, 'tls done');
        const closed = await ws.closed;
        await closedEvent(connection);
        wsServer.shutDown();
        await new Promise((resolve) => httpServer.close(resolve));
        return { got: ws.got, closed, server: connection.events };
      });
    });
  });

  describe('router', () => {
    it('routes by path and protocol, rejects unmatched with 404, and unmounts', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        const router = new impl.router();
        router.attachServer(env.wsServer);
        const seen = [];
        router.mount('/chat', 'chat', (req) => {
          seen.push(['chat', req.protocol, req.resource, req.origin]);
          req.accept(req.origin);
        });
        router.mount(/^\/any\/\d+$/, '*', (req) => {
          seen.push(['any', req.protocol]);
          req.reject(409, 'taken');
        });
        router.mount('*', null, (req) => {
          seen.push(['star', req.protocol]);
          req.accept();
        });
        let duplicate;
        try {
          router.mount('/chat', 'CHAT', () => {});
        } catch (err) {
          duplicate = err.message;
        }
        const chat = await wsOpen(`${env.url}/chat`, ['other', 'chat'], { origin: 'http://o.test' });
        const any = await wsRefusal(`${env.url}/any/7`, ['x']);
        const plain = await wsOpen(`${env.url}/whatever`);
        const unmatched = await wsRefusal(`${env.url}/chat`, ['nope']);
        router.unmount('/chat', 'chat');
        const unmounted = await wsRefusal(`${env.url}/chat`, ['chat']);
        for (const ws of [chat, plain]) ws.close();
        await Promise.all([chat.closed, plain.closed]);
        return { seen, duplicate, chatProtocol: chat.protocol, any, unmatched, unmounted, handlers: router.handlers.length };
      });
    });
  });

  describe('bad input', () => {
    it('never throws in the server: garbage after the handshake, unmasked frames, resets', async () => {
      const env = await start(ferrows);
      const closes = [];
      env.wsServer.on('request', (req) => req.accept(null, null));
      env.wsServer.on('close', (c, code, description) => closes.push([code, description]));
      for (const bytes of [Buffer.from('not a websocket frame at all'), frame(0x1, 'unmasked', { mask: false })]) {
        const socket = rawClient(env);
        socket.write(upgradeRequest('/'));
        await readResponse(socket);
        socket.write(bytes);
        await until(() => closes.length > 0, WAIT, 'the close');
        socket.destroy();
        expect(closes.shift()[0]).toBe(1002);
      }
      const socket = rawClient(env);
      socket.write(upgradeRequest('/', { Host: undefined }) + 'junk');
      socket.destroy();
      const ws = await wsOpen(env.url);
      ws.close();
      await ws.closed;
    });
  });
});
