'use strict';

// Closing connections of the websocket-package face against the package (see
// compat-websocket-helpers.js): close() and drop() with their codes and descriptions, the
// client's close, closeAllConnections and shutDown.

const WsClient = require('ws');
const { until, SCHEMES, useScheme, currentScheme, rawClient, upgradeRequest, parseFrames, socketClosed } = require('./helpers');
const { WAIT, stopAll, start, both, same, wsClient, wsOpen, pkgConnect, wsRefusal, record, next, closedEvent } = require('./compat-websocket-helpers');

afterEach(stopAll);

// Every scenario below runs over plain TCP (descriptor handoff) and over TLS (byte bridge).
describe.each(SCHEMES)('over %s', (scheme) => {
  beforeAll(() => useScheme(scheme));

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

    it("connection.socket is an emitter whose 'close' comes as the package's socket's does", async () => {
      await same(async (impl) => {
        const env = await start(impl);
        const log = [];
        env.wsServer.on('request', (req) => {
          const connection = req.accept(null, null);
          const { socket } = connection;
          log.push(['destroyed', socket.destroyed]);
          connection.on('close', (code) => log.push(['connection close', code]));
          socket.on('close', (hadError) => log.push(['socket close', hadError, socket.destroyed]));
        });
        const ws = await wsOpen(env.url);
        ws.close(1000);
        await until(() => log.length === 3, WAIT, "the socket's close");
        return log;
      });
      await same(async (impl) => {
        const env = await start(impl);
        const log = [];
        env.wsServer.on('request', (req) => {
          const connection = req.accept(null, null);
          connection.on('close', (code) => log.push(['connection close', code]));
          connection.socket.on('close', (hadError) => log.push(['socket close', hadError]));
          connection.drop(4000);
        });
        const ws = await wsOpen(env.url);
        await ws.closed;
        await until(() => log.length === 2, WAIT, "the socket's close");
        return log;
      });
    });

    it('reports a one-byte close frame as a close without a code, as the package does', async () => {
      // ws's client cannot send one: its socket can (masked, payload 0x03).
      const oneByteClose = Buffer.from([0x88, 0x81, 0, 0, 0, 0, 0x03]);
      const result = await both(closeScenario((c, ws) => ws._socket.write(oneByteClose)));
      expect(result.ferrows.fields.slice(0, 2)).toEqual([1005, 'Reason not provided']);
      expect(result.ferrows.server).toEqual(result.websocket.server);
      expect(result.ferrows.fields).toEqual(result.websocket.fields);
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

    it('drop() after close() ends at once with the one close frame close() sent', async () => {
      const result = await same(
        closeScenario((c) => {
          c.close(4001);
          c.drop(4002, 'dropped');
          return [c.closeEventEmitted, c.connected, c.state];
        })
      );
      expect(result.client[0]).toBe(4001);
    });

    it('drop() right after accept() still sends the handshake, what was sent, and its close frame', async () => {
      const results = await both(async (impl) => {
        const env = await start(impl);
        env.wsServer.on('request', (req) => {
          const c = req.accept(null, null);
          c.sendUTF('first');
          c.drop(4002, 'dropped');
        });
        const ws = wsClient(env.url);
        const [code, reason] = await ws.closed;
        return { got: ws.got, code, reason, failure: ws.failure };
      });
      // The handshake and the close frame always reach the client.
      expect([results.ferrows.code, results.ferrows.reason, results.ferrows.failure]).toEqual([4002, 'dropped', undefined]);
      if (currentScheme() === 'ws') {
        // Over TCP the send is in the kernel before the drop, as the package's is.
        expect(results.ferrows.got).toEqual([['first', false]]);
        expect(results.websocket).toEqual(results.ferrows);
      } else {
        // Over TLS a drop drops what the bridge has not taken yet, as the package's destroys its
        // socket before its writes are through (its client sees 1006 and nothing).
        expect([[], [['first', false]]]).toContainEqual(results.ferrows.got);
      }
    });

    it('never sends a second close frame when drop() follows close() in a later job', async () => {
      const env = await start(require('..'));
      env.wsServer.on('request', (req) => {
        const c = req.accept(null, null);
        c.close(4001);
        setImmediate(() => c.drop(4002, 'dropped'));
      });
      const raw = rawClient(env);
      raw.write(upgradeRequest('/'));
      await socketClosed(raw);
      const frames = parseFrames(raw.received.subarray(raw.received.indexOf('\r\n\r\n') + 4));
      expect(frames.map((f) => [f.opcode, f.payload.readUInt16BE(0)])).toEqual([[8, 4001]]);
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
});
