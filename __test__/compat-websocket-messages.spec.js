'use strict';

// Messages through the websocket-package face against the package (see
// compat-websocket-helpers.js): utf8 and binary message objects, sends and their callbacks, pings
// and pongs, and a ping listener's cancel().

const { until, SCHEMES, useScheme, rawClient, upgradeRequest, readResponse, frame } = require('./helpers');
const { WAIT, stopAll, start, same, both, wsOpen, pkgConnect, record, next, closedEvent } = require('./compat-websocket-helpers');

afterEach(stopAll);

// Every scenario below runs over plain TCP (descriptor handoff) and over TLS (byte bridge).
describe.each(SCHEMES)('over %s', (scheme) => {
  beforeAll(() => useScheme(scheme));

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

  describe('pause', () => {
    /**
     * Accepts one connection that logs its messages (and what `listen` adds) and pauses at 'a'
     * for 100 ms: anything logged before 'resume' was emitted while paused. Sends `frames` in
     * one write, so that they are read together, and resolves with the log once it has
     * `entries`.
     */
    async function pausedAtA(impl, frames, entries, listen) {
      const env = await start(impl);
      const log = [];
      env.wsServer.on('request', (req) => {
        const connection = req.accept(null, null);
        connection.on('message', (m) => {
          log.push(m.utf8Data);
          if (m.utf8Data !== 'a') return;
          connection.pause();
          setTimeout(() => {
            log.push('resume');
            connection.resume();
          }, 100);
        });
        listen(connection, log);
      });
      const raw = rawClient(env);
      raw.write(upgradeRequest('/'));
      await readResponse(raw);
      raw.write(Buffer.concat(frames));
      await until(() => log.length === entries, WAIT, 'the held events');
      raw.destroy();
      return log;
    }

    it('holds the messages already read, and pings, until resume(), as the package does', async () => {
      await same((impl) =>
        pausedAtA(impl, [frame(1, 'a'), frame(1, 'b'), frame(9, 'p'), frame(1, 'c')], 5, (connection, log) =>
          connection.on('ping', () => log.push('ping'))
        )
      );
    });

    it('paused past closeTimeout behind a held close: 1006, and the held messages are not delivered', async () => {
      await same(async (impl) => {
        const env = await start(impl, { closeTimeout: 200 });
        const log = [];
        env.wsServer.on('request', (req) => {
          const connection = req.accept(null, null);
          connection.on('message', (m) => {
            log.push(m.utf8Data);
            if (m.utf8Data === 'a') connection.pause();
          });
          connection.on('close', (code, description) => log.push(['close', code, description]));
        });
        const raw = rawClient(env);
        raw.write(upgradeRequest('/'));
        await readResponse(raw);
        raw.write(Buffer.concat([frame(1, 'a'), frame(1, 'b'), frame(8, Buffer.from([0x03, 0xe8]))]));
        // The package never answers a paused connection: the client gives up and goes.
        setTimeout(() => raw.destroy(), 400);
        await until(() => log.some(Array.isArray), WAIT, "the 'close'");
        return log;
      });
    });

    it("holds a close frame read with the messages behind them: 'close' comes after resume()", async () => {
      const close = frame(8, Buffer.from([0x03, 0xe8]));
      await same((impl) =>
        pausedAtA(impl, [frame(1, 'a'), frame(1, 'b'), frame(1, 'c'), close], 5, (connection, log) =>
          connection.on('close', (code) => log.push(['close', code]))
        )
      );
    });
  });

  describe('send loops', () => {
    it('keep each connection\'s order when a loop of sendUTF mixes with callbacks, sendBytes and a close', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        env.wsServer.on('request', (req) => req.accept(null, null));
        const clients = [await wsOpen(env.url), await wsOpen(env.url), await wsOpen(env.url)];
        await until(() => env.wsServer.connections.length === 3, WAIT, 'three connections');
        const conns = env.wsServer.connections.slice();
        const written = [];
        // One job, as a chat room's handler runs: the same text to everyone, each one's own
        // sends in between, a callback on one of them, and a close after the last round.
        for (const round of [0, 1]) {
          for (const c of conns) c.sendUTF(`room ${round}`);
          conns.forEach((c, i) => c.sendUTF(`own ${round} for ${i}`, (err) => written.push([round, i, err])));
          for (const c of conns) c.sendBytes(Buffer.from(`bytes ${round}`));
        }
        conns[0].close(1000, 'bye');
        await until(() => clients.every((ws) => ws.got.length === 6) && written.length === 6, WAIT, 'six messages each');
        const closed = await clients[0].closed;
        for (const ws of clients.slice(1)) ws.close();
        const got = clients.map((ws) => ws.got.map(([data]) => String(data)));
        return { got, written: written.sort(), closed };
      });
    });

    it('outputBufferFull and \'drain\' follow the queue after a loop, as each send would have set them', async () => {
      await same(async (impl) => {
        const env = await start(impl);
        env.wsServer.on('request', (req) => req.accept(null, null));
        const clients = [await wsOpen(env.url), await wsOpen(env.url)];
        await until(() => env.wsServer.connections.length === 2, WAIT, 'two connections');
        for (const ws of clients) ws.pause();
        const conns = env.wsServer.connections.slice();
        const drains = [0, 0];
        conns.forEach((c, i) => c.on('drain', () => drains[i]++));
        // 16 MiB to each client that does not read: past what the kernel's buffers take, so
        // the package's socket reports a full buffer too.
        const filler = 'x'.repeat(64 * 1024 - 8);
        for (let round = 0; round < 256; round++) {
          const text = `${String(round).padStart(8, '0')}${filler}`;
          for (const c of conns) c.sendUTF(text);
        }
        const fullAfterLoop = conns.map((c) => c.outputBufferFull);
        for (const ws of clients) ws.resume();
        await until(() => clients.every((ws) => ws.got.length === 256) && drains.every((n) => n === 1), 20000, 'all messages and a drain each');
        const inOrder = clients.map((ws) => ws.got.every(([text], i) => text.startsWith(String(i).padStart(8, '0'))));
        const fullAfterDrain = conns.map((c) => c.outputBufferFull);
        for (const ws of clients) ws.close();
        return { fullAfterLoop, drains, inOrder, fullAfterDrain };
      });
    }, 60000);
  });
});

// Over plain TCP, where the engine writes the socket itself. Over TLS a callback runs once Node's
// TLS socket has taken the bytes, which it does as fast as the engine hands them over.
describe('send callbacks over ws', () => {
  beforeAll(() => useScheme('ws'));

  it('calls each send back as its own message is written, not all at the end of a burst', async () => {
    const spread = await both(async (impl) => {
      const env = await start(impl);
      const turns = [];
      let turn = 0;
      let spinning = true;
      const spin = () => {
        turn += 1;
        if (spinning) setImmediate(spin);
      };
      const connected = next(env.wsServer, 'connect');
      env.wsServer.on('request', (req) => req.accept(null, null));
      const client = await pkgConnect(env.url);
      const connection = await connected;
      spin();
      // A burst far larger than the kernel's buffers, each send with its callback.
      const chunk = Buffer.alloc(64 * 1024, 7);
      for (let i = 0; i < 200; i++) connection.sendBytes(chunk, (err) => turns.push(err ?? turn));
      await until(() => turns.length === 200 && client.got.length === 200, 10000, 'every callback and message');
      spinning = false;
      client.close();
      await client.closed;
      return { errors: turns.filter((t) => typeof t !== 'number').length, turns: new Set(turns).size };
    });
    expect(spread.ferrows.errors).toBe(0);
    expect(spread.websocket.turns).toBeGreaterThan(1);
    expect(spread.ferrows.turns).toBeGreaterThan(1);
  });
});
