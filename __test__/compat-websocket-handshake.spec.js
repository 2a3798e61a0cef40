'use strict';

// The websocket-package face's handshake against the package's (see
// compat-websocket-helpers.js): the request's fields, accept and reject with their headers,
// auto-accept, malformed upgrades, and a client that left before the accept.

const { once, until, upgradeRequest, readResponse, rawClient, SCHEMES, useScheme } = require('./helpers');
const { WAIT, stopAll, start, same, wsClient, wsOpen, pkgFailure, wsRefusal, next } = require('./compat-websocket-helpers');

afterEach(stopAll);

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

    it('answers 400 to a request-target with bytes past ASCII, with no request event', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        const requests = [];
        env.wsServer.on('request', (req) => requests.push(req.resource));
        const socket = rawClient(env);
        socket.write(Buffer.from(upgradeRequest('/caf\u00e9'), 'utf8'));
        const { status } = await readResponse(socket);
        socket.destroy();
        return { status, requests };
      });
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
});
