'use strict';

// Closing a ws-face socket against ws (see compat-ws-helpers.js): the client's close, close() with
// its arguments and their checks, and terminate().

const { once, until } = require('./helpers');
const { differential, cleanUp, start, pair, describeData, thrown } = require('./compat-ws-helpers');

afterEach(cleanUp);

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

  it("fails the callbacks of sends still queued at terminate() with the destroyed stream's error", async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      // The client reads nothing: most of 40 MiB stays queued on the server.
      client._socket.pause();
      const outcomes = [];
      const payload = 'x'.repeat(1 << 20);
      for (let i = 0; i < 40; i += 1) ws.send(payload, (err) => outcomes.push(err ? `${err.code}: ${err.message}` : 'written'));
      const serverClose = once(ws, 'close');
      setImmediate(() => ws.terminate());
      await serverClose;
      await until(() => outcomes.length === 40, 5000, 'every callback');
      const failures = [...new Set(outcomes.filter((o) => o !== 'written'))];
      return { failures, lastFailed: outcomes[39] !== 'written' };
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
