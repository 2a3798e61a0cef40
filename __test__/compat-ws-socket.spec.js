'use strict';

// The ws face's socket class against ws's (see compat-ws-helpers.js): classes given as the
// WebSocket option, the readyState constants, addEventListener and the on<event> attributes.

const http = require('http');
const WS = require('ws');
const ferrows = require('..');
const { once, until } = require('./helpers');
const { differential, defer, cleanUp, closeHttp, start, pair, describeData, recordMessages } = require('./compat-ws-helpers');

afterEach(cleanUp);

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
    // As ws's module, the module is the class: `const WebSocket = require('ws')`.
    expect(require('ferrows/ws')).toBe(WsSocket);
    expect(() => new (require('ferrows/ws'))('ws://127.0.0.1/')).toThrow(/ferrows\/ws has no client/);
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
