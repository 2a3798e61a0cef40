'use strict';

// Differential tests of the websocket-package face: every scenario runs against the real
// `websocket` package's server and against ferrows's, driven by the same client (the package's
// own client or `ws`), and what the application and the client observe must be equal.

const path = require('path');
const http = require('http');
const https = require('https');
const { spawn } = require('child_process');
const WsClient = require('ws');
const websocket = require('websocket');
const ferrows = require('..');
const { once, until, frame, upgradeRequest, readResponse, rawClient, SCHEMES, TLS_OPTIONS, useScheme, currentScheme } = require('./helpers');

const WAIT = 5000;
const IMPLS = { websocket, ferrows };

const stops = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** Clients trust the test certificate when scenarios run over wss. */
const TRUST = { rejectUnauthorized: false };

/**
 * An http (or, over wss, https) server on a free loopback port with `impl`'s WebSocket server
 * mounted on it.
 */
async function start(impl, config = {}, setup) {
  const handler = (req, res) => {
    res.writeHead(404);
    res.end();
  };
  const secure = currentScheme() === 'wss';
  const httpServer = secure ? https.createServer(TLS_OPTIONS, handler) : http.createServer(handler);
  const wsServer = new impl.server({ httpServer, ...config });
  if (setup) setup(wsServer);
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address();
  const env = { impl, httpServer, wsServer, port, secure, url: `${currentScheme()}://127.0.0.1:${port}` };
  env.stop = async () => {
    wsServer.shutDown();
    await until(() => wsServer.connections.length === 0, WAIT, 'connections to close').catch(() => {
      for (const c of wsServer.connections.slice()) c.drop(1006, 'test over', true);
    });
    httpServer.closeAllConnections();
    await new Promise((resolve) => httpServer.close(resolve));
  };
  stops.push(env.stop);
  return env;
}

/** Runs `scenario(impl)` against both servers; resolves with { websocket, ferrows } results. */
async function both(scenario) {
  const results = {};
  for (const [name, impl] of Object.entries(IMPLS)) results[name] = await scenario(impl, name);
  return results;
}

/** Expects ferrows's observations to equal the package's (and returns them). */
async function same(scenario) {
  const results = await both(scenario);
  expect(results.ferrows).toEqual(results.websocket);
  return results.websocket;
}

/** A `ws` client that records messages as [text or Buffer, isBinary] and its close. */
function wsClient(url, protocols, options) {
  const ws = new WsClient(url, protocols, { ...TRUST, ...options });
  ws.got = [];
  ws.on('message', (data, isBinary) => ws.got.push([isBinary ? data : data.toString(), isBinary]));
  ws.on('error', (err) => (ws.failure = err.message));
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve([code, reason.toString()])));
  return ws;
}

async function wsOpen(url, protocols, options) {
  const ws = wsClient(url, protocols, options);
  ws.on('upgrade', (res) => (ws.response = res));
  // 'open' follows 'upgrade' in the same tick, so both are awaited from the start.
  await once(ws, 'open', WAIT);
  return ws;
}

/** The package's own client; resolves with its client-side connection once open. */
async function pkgConnect(url, protocols, origin, headers) {
  const client = new websocket.client({ tlsOptions: TRUST });
  // Listeners go on in the 'connect' handler itself: messages sent with the 101 follow at once.
  client.on('connect', (connection) => {
    connection.got = [];
    connection.on('message', (m) => connection.got.push(m));
    connection.closed = new Promise((resolve) => connection.on('close', (code, description) => resolve([code, description])));
  });
  const opened = once(client, 'connect', WAIT);
  client.connect(url, protocols, origin, headers);
  const [connection] = await opened;
  return connection;
}

/** The package's client against a refusing server: resolves with the connectFailed message. */
async function pkgFailure(url, protocols) {
  const client = new websocket.client({ tlsOptions: TRUST });
  const failed = once(client, 'connectFailed', WAIT);
  client.connect(url, protocols);
  const [err] = await failed;
  return err.message;
}

/** The status and headers (minus Date) a `ws` client gets when the upgrade is refused. */
async function wsRefusal(url, protocols, options) {
  const ws = new WsClient(url, protocols, { ...TRUST, ...options });
  ws.on('error', () => {});
  const [, res] = await once(ws, 'unexpected-response', WAIT);
  const headers = { ...res.headers };
  delete headers.date;
  ws.terminate();
  return { status: res.statusCode, statusMessage: res.statusMessage, headers };
}

/** The server's next connection's observable events, recorded in order. */
function record(connection) {
  const events = [];
  connection.on('message', (m) => events.push(['message', m]));
  connection.on('ping', (cancel, data) => events.push(['ping', typeof cancel, data.toString()]));
  connection.on('pong', (data) => events.push(['pong', data.toString()]));
  connection.on('close', (code, description) => events.push(['close', code, description]));
  connection.events = events;
  return connection;
}

/** Waits for `event` on the server and resolves with its first argument. */
async function next(emitter, event) {
  const [arg] = await once(emitter, event, WAIT);
  return arg;
}

function closedEvent(connection) {
  return until(() => connection.events.some((e) => e[0] === 'close'), WAIT, 'the close event');
}

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

  describe('handshake', () => {
    it('exposes the same request fields (protocols lower-cased, cookies, extensions, X-Forwarded-For)', async () => {
      const headers = { Cookie: 'sid=abc; theme="dark%20blue"; flag', 'X-Forwarded-For': '203.0.113.7, 10.0.0.2' };
      await same(async (impl) => {
        const env = await start(impl);
        const got = next(env.wsServer, 'request');
        const ws = wsClient(`${env.url}/room/1?x=y`, ['Chat-V1', 'Other'], { headers, origin: 'http://app.test' });
        const req = await got;
        const fields = {
          resource: req.resource,
          pathname: req.resourceURL.pathname,
          // The port differs between the two runs.
          hostname: req.host.replace(/:\d+$/, ''),
          query: { ...req.resourceURL.query },
          origin: req.origin,
          webSocketVersion: req.webSocketVersion,
          requestedProtocols: req.requestedProtocols,
          requestedExtensions: req.requestedExtensions,
          cookies: req.cookies,
          remoteAddress: req.remoteAddress,
          remoteAddresses: req.remoteAddresses,
          pending: env.wsServer.pendingRequests.length,
        };
        req.reject();
        await ws.closed;
        return fields;
      });
    });

    it('ignores X-Forwarded-For with ignoreXForwardedFor', async () => {
      const result = await same(async (impl) => {
        const env = await start(impl, { ignoreXForwardedFor: true });
        const got = next(env.wsServer, 'request');
        const ws = wsClient(env.url, [], { headers: { 'X-Forwarded-For': '203.0.113.7' } });
        const req = await got;
        const connection = req.accept(null, null);
        const fields = [req.remoteAddress, req.remoteAddresses, connection.remoteAddress, connection.remoteAddresses];
        await once(ws, 'open', WAIT);
        ws.close();
        await ws.closed;
        return fields;
      });
      expect(result[0]).toBe('127.0.0.1');
    });

    it('accepts with the protocol echoed in the client case, Origin and valid cookies', async () => {
      const result = await same(async (impl) => {
        const env = await start(impl);
        const events = [];
        env.wsServer.on('request', (req) => {
          req.on('requestAccepted', () => events.push('requestAccepted'));
          const connection = req.accept('chat-v1', 'http://app.test', [
            { name: 'sid', value: 'abc', path: '/', httponly: true },
            { name: 'theme', value: 'dark', maxage: 60, secure: true },
          ]);
          events.push(['accepted', connection.protocol, connection.connected, connection.state]);
        });
        env.wsServer.on('connect', (c) => events.push(['connect', c.protocol, env.wsServer.connections.length]));
        const ws = await wsOpen(env.url, ['Chat-V1', 'Other'], { origin: 'http://app.test' });
        const headers = { ...ws.response.headers };
        delete headers['sec-websocket-accept'];
        const out = { events, headers, clientProtocol: ws.protocol };
        ws.close();
        await ws.closed;
        return out;
      });
      expect(result.clientProtocol).toBe('Chat-V1');
      expect(result.headers['set-cookie']).toEqual(['sid=abc;Path=/;HttpOnly', 'theme=dark;Max-Age=60;Secure']);
      expect(result.events).toEqual([['connect', 'chat-v1', 1], 'requestAccepted', ['accepted', 'chat-v1', true, 'open']]);
    });

    it('answers 500 and throws for a protocol the client did not offer, or an invalid cookie', async () => {
      for (const args of [['nope'], [null, null, [{ name: 'a=b', value: 'c' }]], [null, null, [{ name: 'x' }]]]) {
        const result = await same(async (impl) => {
          const env = await start(impl);
          const events = [];
          env.wsServer.on('request', (req) => {
            req.on('requestRejected', () => events.push('requestRejected'));
            try {
              req.accept(...args);
            } catch (err) {
              events.push(['threw', err.message]);
            }
          });
          const refusal = await wsRefusal(env.url, ['chat']);
          return { events, refusal };
        });
        expect(result.refusal.status).toBe(500);
      }
    });

    it('throws when a request is accepted twice', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        let message;
        env.wsServer.on('request', (req) => {
          req.accept(null, null);
          try {
            req.accept(null, null);
          } catch (err) {
            message = err.message;
          }
        });
        const ws = await wsOpen(env.url);
        ws.close();
        await ws.closed;
        return message;
      });
    });

    it('rejects with the status, X-WebSocket-Reject-Reason and extra headers (ws and websocket clients)', async () => {
      const result = await same(async (impl) => {
        const env = await start(impl);
        const events = [];
        env.wsServer.on('request', (req) => {
          req.on('requestRejected', (r) => events.push(['requestRejected', r === req]));
          req.reject(401, 'Who are you?\r\nX-Evil: 1', { 'WWW-Authenticate': 'Basic', 'X-Count': 3 });
        });
        const refusal = await wsRefusal(env.url);
        const failure = await pkgFailure(env.url);
        return { events, refusal, failure, pending: env.wsServer.pendingRequests.length };
      });
      expect(result.refusal.headers['x-websocket-reject-reason']).toBe('Who are you?X-Evil: 1');
      expect(result.refusal.status).toBe(401);
    });

    it('rejects with 403 by default', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        env.wsServer.on('request', (req) => req.reject());
        return wsRefusal(env.url);
      });
    });

    it('answers 404 when nothing listens for requests', async () => {
      const result = await same(async (impl) => {
        const env = await start(impl);
        return { refusal: await wsRefusal(env.url), failure: await pkgFailure(env.url) };
      });
      expect(result.refusal.status).toBe(404);
    });

    it('auto-accepts with the first requested protocol', async () => {
      await same(async (impl) => {
        const env = await start(impl, { autoAcceptConnections: true });
        const connected = next(env.wsServer, 'connect');
        const ws = await wsOpen(env.url, ['first', 'second']);
        const connection = await connected;
        const out = [ws.protocol, connection.protocol];
        ws.close();
        await ws.closed;
        return out;
      });
    });

    it('refuses malformed upgrades with the package status and reason, emitting upgradeError', async () => {
      const cases = [
        { 'Sec-WebSocket-Key': undefined },
        { 'Sec-WebSocket-Version': '12' },
        { 'Sec-WebSocket-Version': undefined },
      ];
      for (const headers of cases) {
        await same(async (impl) => {
          const env = await start(impl);
          const errors = [];
          env.wsServer.on('upgradeError', (err) => errors.push(err.message));
          const socket = rawClient(env);
          socket.write(upgradeRequest('/', headers));
          const { head } = await readResponse(socket);
          socket.destroy();
          return { head, errors };
        });
      }
    });

    it('still emits connect, then closes 1006, when accepted after the client left', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        const got = next(env.wsServer, 'request');
        const socket = rawClient(env);
        socket.write(upgradeRequest('/'));
        const req = await got;
        const left = once(req.socket, 'end', WAIT);
        socket.end();
        await left;
        const events = [];
        env.wsServer.on('connect', () => events.push('connect'));
        env.wsServer.on('close', (c, code, description) => events.push(['server close', code, description]));
        const connection = req.accept(null, null);
        connection.on('close', (code, description) => events.push(['close', code, description]));
        await until(() => events.length === 3, WAIT, 'the close');
        return { events, connections: env.wsServer.connections.length, pending: env.wsServer.pendingRequests.length };
      });
    });
  });

  describe('messages', () => {
    it('delivers utf8 and binary message objects and echoes them (ws client)', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        env.wsServer.on('request', (req) => {
          const c = record(req.accept(null, null));
          c.on('message', (m) => (m.type === 'utf8' ? c.sendUTF(m.utf8Data) : c.sendBytes(m.binaryData)));
        });
        const connected = next(env.wsServer, 'connect');
        const ws = await wsOpen(env.url);
        const connection = await connected;
        ws.send('héllo');
        ws.send(Buffer.from([1, 2, 3]));
        ws.send('x'.repeat(70000 - 1).slice(0, 40000));
        await until(() => ws.got.length === 3, WAIT, 'three echoes');
        ws.close(1000, 'done');
        await closedEvent(connection);
        // The closing reply's reason is not compared: the package answers with 1000 and none.
        const [closeCode] = await ws.closed;
        return { server: connection.events, client: ws.got, closeCode };
      });
    });

    it('sendUTF, sendBytes and send call back once written; the package client gets them (websocket client)', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        const callbacks = [];
        const connected = next(env.wsServer, 'connect');
        env.wsServer.on('request', (req) => {
          const c = req.accept('echo', null);
          c.sendUTF('text', (err) => callbacks.push(['sendUTF', err]));
          c.sendUTF(42, (err) => callbacks.push(['sendUTF number', err]));
          c.sendBytes(Buffer.from('bytes'), (err) => callbacks.push(['sendBytes', err]));
          c.send('via send', (err) => callbacks.push(['send text', err]));
          c.send(Buffer.alloc(20000, 7), (err) => callbacks.push(['send binary', err]));
          let thrown;
          try {
            c.sendBytes('not a buffer');
          } catch (err) {
            thrown = err.message;
          }
          callbacks.push(['sendBytes threw', thrown]);
        });
        const client = await pkgConnect(env.url, ['echo']);
        const connection = await connected;
        await until(() => client.got.length === 5 && callbacks.length === 6, WAIT, 'five messages and callbacks');
        const got = client.got.map((m) => (m.type === 'utf8' ? m : { type: m.type, length: m.binaryData.length }));
        client.close();
        await client.closed;
        await until(() => !connection.connected && connection.state === 'closed', WAIT, 'closed');
        return { callbacks, got, protocol: client.protocol };
      });
    });

    it('emits ping and pong events', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        const connected = next(env.wsServer, 'connect');
        env.wsServer.on('request', (req) => record(req.accept(null, null)));
        const ws = await wsOpen(env.url);
        const connection = await connected;
        const clientPings = [];
        const clientPongs = [];
        ws.on('ping', (d) => clientPings.push(d.toString()));
        ws.on('pong', (d) => clientPongs.push(d.toString()));
        connection.ping('from server');
        ws.ping('from client');
        await until(() => connection.events.length === 2 && clientPings.length === 1 && clientPongs.length === 1, WAIT, 'pings');
        ws.close();
        await ws.closed;
        return { server: connection.events.slice(0, 2).sort(), clientPings, clientPongs };
      });
    });

    it('a ping listener that calls cancel() withholds the pong; otherwise the pong follows', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        const connected = next(env.wsServer, 'connect');
        env.wsServer.on('request', (req) => {
          const c = record(req.accept(null, null));
          c.on('message', (m) => c.sendUTF(`echo ${m.utf8Data}`));
        });
        const ws = await wsOpen(env.url);
        const connection = await connected;
        const log = [];
        const echoes = () => log.filter(([what]) => what === 'message').length;
        ws.on('pong', (d) => log.push(['pong', d.toString()]));
        ws.on('message', (d) => log.push(['message', d.toString()]));
        connection.on('ping', (cancel, data) => {
          if (data.toString().startsWith('cancel')) cancel();
        });
        // Each echo leaves after the server has handled the ping before it: a pong sent for
        // that ping reaches the client first, so the echo bounds the wait for one.
        ws.ping('cancel me');
        ws.send('a');
        await until(() => echoes() === 1, WAIT, 'the first echo');
        ws.ping('answer me');
        ws.send('b');
        await until(() => echoes() === 2, WAIT, 'the second echo');
        // Without any 'ping' listener the connection answers by itself.
        connection.removeAllListeners('ping');
        ws.ping('no listener');
        ws.send('c');
        await until(() => echoes() === 3, WAIT, 'the third echo');
        ws.close();
        await ws.closed;
        return { log, server: connection.events.filter(([what]) => what === 'ping') };
      });
    });
  });

  describe('closing', () => {
    /** Opens one connection (ws client), runs `act(connection, ws)`, returns what both sides saw. */
    function closeScenario(act) {
      return async (impl) => {
        const env = await start(impl);
        const connected = next(env.wsServer, 'connect');
        env.wsServer.on('request', (req) => record(req.accept(null, null)));
        const serverClose = next(env.wsServer, 'close');
        const ws = await wsOpen(env.url);
        const connection = await connected;
        const extra = act(connection, ws);
        const client = await ws.closed;
        await closedEvent(connection);
        await serverClose;
        return {
          extra,
          client,
          server: connection.events,
          fields: [connection.closeReasonCode, connection.closeDescription, connection.connected, connection.state],
          connections: env.wsServer.connections.length,
        };
      };
    }

    it('close(reasonCode, description) sends them and reports them with the package strings', async () => {
      for (const args of [[], [4001, 'bye'], [1001], [3000]]) {
        await same(closeScenario((c) => c.close(...args)));
      }
    });

    it('close() throws on a code the package refuses', async () => {
      await same(
        closeScenario((c) => {
          let thrown;
          try {
            c.close(1004);
          } catch (err) {
            thrown = err.message;
          }
          c.close();
          return thrown;
        })
      );
    });

    it('reports the client close codes and descriptions as the package does', async () => {
      const acts = [
        (c, ws) => ws.close(1000, 'bye'),
        (c, ws) => ws.close(4000),
        (c, ws) => ws.close(1000, 'x'),
        (c, ws) => ws.close(),
        (c, ws) => ws.terminate(),
      ];
      for (const act of acts) {
        const result = await both(closeScenario(act));
        // The package answers every close with 1000 and no reason; the engine echoes the peer's.
        delete result.websocket.client;
        delete result.ferrows.client;
        expect(result.ferrows).toEqual(result.websocket);
      }
    });

    it('drop() emits close at once and sends the close frame', async () => {
      for (const args of [[4002, 'dropped'], []]) {
        await same(
          closeScenario((c) => {
            c.drop(...args);
            return [c.closeEventEmitted, c.connected, c.state];
          })
        );
      }
    });

    it('the package client sees close codes and descriptions as with the package', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        const connected = next(env.wsServer, 'connect');
        env.wsServer.on('request', (req) => record(req.accept(null, null)));
        const client = await pkgConnect(env.url);
        const connection = await connected;
        connection.close(4005, 'going');
        const seen = await client.closed;
        await closedEvent(connection);
        return { seen, server: connection.events };
      });
    });

    it('closeAllConnections closes every connection and answers pending requests 503', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        let held;
        env.wsServer.on('request', (req) => {
          if (req.resource === '/hold') held = req;
          else record(req.accept(null, null));
        });
        const a = await wsOpen(env.url);
        const b = await wsOpen(env.url);
        const refusal = wsRefusal(`${env.url}/hold`);
        await until(() => held !== undefined, WAIT, 'the held request');
        const closes = [];
        env.wsServer.on('close', (c, code, description) => closes.push([code, description]));
        env.wsServer.closeAllConnections();
        const clients = await Promise.all([a.closed, b.closed]);
        await until(() => closes.length === 2, WAIT, 'two closes');
        return { clients, closes, refusal: await refusal };
      });
    });

    it('shutDown closes connections and stops taking upgrades', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        env.wsServer.on('request', (req) => req.accept(null, null));
        const a = await wsOpen(env.url);
        env.wsServer.shutDown();
        const closed = await a.closed;
        const late = wsClient(env.url);
        await late.closed;
        return { closed, lateOpened: late.readyState === WsClient.OPEN, lateFailed: late.failure !== undefined };
      });
    });
  });

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

describe('examples', () => {
  const EXAMPLES = path.join(__dirname, '..', 'examples', 'websocket-compat');
  const running = new Set();

  afterEach(() => {
    for (const child of running) child.kill('SIGKILL');
    running.clear();
  });

  /** Starts an example unchanged on a free port; resolves once it printed its URL. */
  async function run(file) {
    const child = spawn(process.execPath, [path.join(EXAMPLES, file)], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    child.output = '';
    child.stdout.on('data', (d) => (child.output += d));
    child.stderr.on('data', (d) => (child.output += d));
    await until(() => /ws:\/\/127\.0\.0\.1:\d+\//.test(child.output) || child.exitCode !== null, 10000, `${file} to listen`);
    const match = /ws:\/\/127\.0\.0\.1:(\d+)\//.exec(child.output);
    if (!match) throw new Error(`${file} did not start:\n${child.output}`);
    return { child, url: `ws://127.0.0.1:${match[1]}/` };
  }

  it('server.js echoes on echo-protocol and logs messages and close reasons', async () => {
    const { child, url } = await run('server.js');
    const client = await pkgConnect(url, ['echo-protocol']);
    client.sendUTF('hello example');
    await until(() => client.got.length === 1, WAIT, 'the echo');
    expect(client.got[0]).toEqual({ type: 'utf8', utf8Data: 'hello example' });
    client.close(1000, 'bye now');
    await client.closed;
    await until(() => /disconnected: 1000 bye now/.test(child.output), WAIT, 'the close log');
    expect(child.output).toMatch(/Received Message: hello example/);
  });

  it('chat.js forwards every message to every client', async () => {
    const { child, url } = await run('chat.js');
    const alice = await wsOpen(url);
    const bob = await pkgConnect(url);
    await until(() => /2 online/.test(child.output), WAIT, 'two clients');
    alice.send('hi from alice');
    bob.sendUTF('hi from bob');
    await until(() => alice.got.length === 2 && bob.got.length === 2, WAIT, 'two messages each');
    expect(alice.got.map(([t]) => t).sort()).toEqual(['hi from alice', 'hi from bob']);
    expect(bob.got.map((m) => m.utf8Data).sort()).toEqual(['hi from alice', 'hi from bob']);
    alice.close();
    await alice.closed;
    await until(() => /left: 1006 Connection dropped by remote peer\./.test(child.output), WAIT, 'the leave log');
    bob.close();
    await bob.closed;
  });
});
