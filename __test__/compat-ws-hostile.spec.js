'use strict';

// Clients that leave mid-handshake or break the protocol, on the ws face (see
// compat-ws-helpers.js): dropped as ws drops them, and safe where ws would crash or skip a check.

const WS = require('ws');
const ferrows = require('..');
const { once, until, upgradeRequest, rawClient, frame, closeFrame } = require('./helpers');
const { differential, defer, cleanUp, start, rawUpgrade } = require('./compat-ws-helpers');

afterEach(cleanUp);

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
