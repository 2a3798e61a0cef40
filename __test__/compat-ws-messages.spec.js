'use strict';

// Messages through the ws face against ws (see compat-ws-helpers.js): what binaryType delivers,
// send() with every data type, option and callback, sends after close, maxPayload, and the
// protocol errors a client can make.

const ferrows = require('..');
const { once, until, upgradeRequest, frame, closeFrame } = require('./helpers');
const { differential, cleanUp, start, pair, rawUpgrade, describeError, recordMessages } = require('./compat-ws-helpers');

afterEach(cleanUp);

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
      // ws writes its close frame into the socket at once; ferrows's may still be queued for a
      // moment, so what is compared is the count once the socket has taken it: the bytes sent
      // after close, which both keep counting.
      await until(() => ws.bufferedAmount <= 10, 5000, 'the close frame to be written');
      const buffered = ws.bufferedAmount;
      await until(() => errors.length === 3, 5000, 'three callbacks');
      return { state, errors, buffered };
    });
  });

  it('calls each send back once its own message is written, while later ones still queue', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      let received = 0;
      client.on('message', () => (received += 1));
      // A burst far larger than the kernel's buffers: its first messages are written long before
      // the last, whatever else is queued behind them.
      const chunk = Buffer.alloc(64 * 1024, 7);
      const queuedAtCallback = [];
      for (let i = 0; i < 200; i++) {
        ws.send(chunk, (err) => queuedAtCallback.push(err === null && ws.bufferedAmount));
      }
      await until(() => queuedAtCallback.length === 200, 10000, 'every callback');
      await until(() => received === 200, 10000, 'every message');
      return { first: queuedAtCallback[0] > 64 * 1024, last: queuedAtCallback[199] };
    });
  });

  it('runs a long chain of send callbacks over compression without losing one', async () => {
    // Each callback sends the next message: the engine's thread writes (it compresses) while
    // JavaScript waits for the next count. A lost wake-up stops the chain.
    const env = await start(ferrows.WebSocketServer, { perMessageDeflate: { threshold: 0 } });
    const { client, ws } = await pair(env, { options: { perMessageDeflate: true } });
    let received = 0;
    client.on('message', () => (received += 1));
    let sent = 0;
    const payload = 'x'.repeat(200);
    const next = (err) => {
      if (err) throw err;
      if (++sent < 30000) ws.send(payload, next);
    };
    ws.send(payload, next);
    await until(() => sent === 30000, 30000, 'the whole chain');
    await until(() => received === 30000, 10000, 'every message');
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
