'use strict';

// The native face's pause() and resume(), as ws's: nothing the client sent is delivered while
// paused, including what the engine had already read, and everything comes after resume(), in
// order.

const { startServer, connect, once, until, rawPair, frame, SCHEMES, useScheme } = require('./helpers');

describe.each(SCHEMES)('pause and resume over %s', (scheme) => {
  beforeAll(() => useScheme(scheme));
  let env;
  beforeEach(async () => {
    env = await startServer();
  });
  afterEach(() => env.stop());

  it('holds the messages that follow a pause, even those read with it, until resume()', async () => {
    const { raw, ws, closeEvent } = await rawPair(env);
    const log = [];
    ws.on('message', (data) => {
      log.push(['message', String(data), ws.isPaused]);
      if (String(data) === 'a') {
        ws.pause();
        log.push(['paused', ws.isPaused]);
      }
    });
    // One write: the engine usually reads 'b' and 'c' with 'a', before it sees the pause.
    raw.write(Buffer.concat([frame(0x1, 'a'), frame(0x1, 'b'), frame(0x9, 'p'), frame(0x1, 'c')]));
    ws.on('ping', (data) => log.push(['ping', String(data)]));
    await until(() => log.length >= 2, 5000, "the first message's pause");
    // Absence can only be observed over time: the rest is in the engine or in the kernel.
    await new Promise((resolve) => setTimeout(resolve, 150));
    log.push(['resume']);
    ws.resume();
    await until(() => log.length === 6, 5000, 'the held messages');
    expect(log).toEqual([
      ['message', 'a', false],
      ['paused', true],
      ['resume'],
      ['message', 'b', false],
      ['ping', 'p'],
      ['message', 'c', false],
    ]);
    raw.destroy();
    await closeEvent;
  });

  it("reports a protocol error after the messages held before it, as ws's order is", async () => {
    const { raw, ws, closeEvent } = await rawPair(env);
    const log = [];
    ws.on('message', (data) => {
      log.push(String(data));
      if (String(data) === 'a') ws.pause();
    });
    ws.on('error', (err) => log.push(`error ${err.code}`));
    // 'a', 'b', then an unmasked frame: a protocol error after 'b'.
    raw.write(Buffer.concat([frame(0x1, 'a'), frame(0x1, 'b'), frame(0x1, 'x', { mask: false })]));
    await until(() => log.length >= 1, 5000, 'the first message');
    await new Promise((resolve) => setTimeout(resolve, 100));
    ws.resume();
    await closeEvent;
    expect(log).toEqual(['a', 'b', 'error WS_ERR_EXPECTED_MASK']);
  });

  it('keeps the client waiting in TCP while paused, and reads on after resume()', async () => {
    const [[ws], client] = await Promise.all([once(env.wss, 'connection'), connect(env.url)]);
    ws.pause();
    const received = [];
    ws.on('message', (data) => received.push(data.length));
    const chunk = Buffer.alloc(256 * 1024);
    // More than the engine's inbound bound and both sockets' buffers hold: the client backs up.
    for (let i = 0; i < 64; i += 1) client.send(chunk);
    await until(() => client.bufferedAmount > 0, 5000, "the client's queue to back up");
    expect(received).toEqual([]);
    ws.resume();
    await until(() => received.length === 64, 10000, 'every message after resume()');
    expect(client.bufferedAmount).toBe(0);
    client.terminate();
  });

  it('is a no-op once closed', async () => {
    const [[ws], client] = await Promise.all([once(env.wss, 'connection'), connect(env.url)]);
    const closing = once(ws, 'close');
    client.close();
    await closing;
    ws.pause();
    expect(ws.isPaused).toBe(false);
    ws.resume();
  });
});
