'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { startServer, connect, once, closed, until, rawClient, rawPair, upgradeRequest, readResponse, frame, parseFrames, closeFrame, socketClosed, SCHEMES, useScheme } = require('./helpers');

describe.each(SCHEMES)('limits and protocol errors over %s', (scheme) => {
  beforeAll(() => useScheme(scheme));
  let env;
  afterEach(() => env.stop());

  it('closes with 1009 above maxPayload and keeps serving others', async () => {
    env = await startServer({ maxPayload: 1000 });
    env.wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    const { raw, errors, closeEvent } = await rawPair(env);
    raw.write(frame(2, Buffer.alloc(1001)));
    expect((await closeFrame(raw)).code).toBe(1009);
    expect((await closeEvent)[0]).toBe(1009);
    expect(errors.map((e) => [e.code, e.closeCode])).toEqual([['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009]]);
    await socketClosed(raw);
    const other = await connect(env.url);
    other.send(Buffer.alloc(1000));
    const [echo] = await once(other, 'message');
    expect(echo.length).toBe(1000);
    other.close();
  });

  it('lets a client still sending an oversized message read the 1009 (no reset)', async () => {
    env = await startServer({ maxPayload: 64 * 1024 });
    const client = await connect(env.url);
    client.on('error', () => {});
    // 4 MiB in one frame: the server refuses the header while most of it is still in flight.
    client.send(Buffer.alloc(4 * 1024 * 1024));
    const [code] = await closed(client);
    expect(code).toBe(1009);
  });

  it('counts every fragment toward maxPayload', async () => {
    env = await startServer({ maxPayload: 1000 });
    const { raw, closeEvent } = await rawPair(env);
    raw.write(Buffer.concat([frame(2, Buffer.alloc(600), { fin: false }), frame(0, Buffer.alloc(600))]));
    expect((await closeFrame(raw)).code).toBe(1009);
    expect((await closeEvent)[0]).toBe(1009);
  });

  it('refuses a frame header announcing 2^63 bytes without reading it', async () => {
    env = await startServer();
    const { raw, closeEvent } = await rawPair(env);
    const header = Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
    raw.write(header);
    expect((await closeFrame(raw)).code).toBe(1009);
    expect((await closeEvent)[0]).toBe(1009);
  });

  it.each([
    ['invalid UTF-8', () => frame(1, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80])), 1007, 'WS_ERR_INVALID_UTF8'],
    ['invalid UTF-8 split across fragments', () => Buffer.concat([frame(1, Buffer.from([0x61, 0xf0, 0x90]), { fin: false }), frame(0, Buffer.from([0x28, 0x61]))]), 1007, 'WS_ERR_INVALID_UTF8'],
    ['an unmasked frame', () => frame(1, 'hi', { mask: false }), 1002, 'WS_ERR_EXPECTED_MASK'],
    ['reserved bits', () => frame(1, 'hi', { rsv: 4 }), 1002, 'WS_ERR_UNEXPECTED_RSV_1'],
    ['an unknown opcode', () => frame(3, 'hi'), 1002, 'WS_ERR_INVALID_OPCODE'],
    ['a fragmented control frame', () => frame(9, 'hi', { fin: false }), 1002, 'WS_ERR_EXPECTED_FIN'],
    ['a control frame over 125 bytes', () => frame(9, Buffer.alloc(126)), 1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'],
    ['a continuation without a start', () => frame(0, 'hi'), 1002, 'WS_ERR_INVALID_OPCODE'],
  ])('answers %s with its close code and an error event', async (_, bytes, code, errCode) => {
    env = await startServer();
    const { raw, errors, closeEvent } = await rawPair(env);
    raw.write(bytes());
    expect((await closeFrame(raw)).code).toBe(code);
    expect((await closeEvent)[0]).toBe(code);
    expect(errors.map((e) => e.code)).toEqual([errCode]);
    await socketClosed(raw);
  });

  it('answers a close frame with a reserved code with 1002', async () => {
    env = await startServer();
    const { raw, closeEvent } = await rawPair(env);
    raw.write(frame(8, Buffer.from([0x03, 0xed])));
    expect((await closeFrame(raw)).code).toBe(1002);
    expect(await closeEvent).toEqual([1002, 'Invalid WebSocket frame: invalid status code 1005']);
  });

  it('does not emit error events nobody listens to', async () => {
    env = await startServer();
    const raw = rawClient(env);
    const conn = once(env.wss, 'connection');
    raw.write(upgradeRequest('/'));
    await readResponse(raw);
    const [ws] = await conn;
    const closeEvent = once(ws, 'close');
    raw.write(frame(1, 'x', { mask: false }));
    expect((await closeEvent)[0]).toBe(1002);
  });

  it('returns false above highWaterMark and emits drain once the client has read', async () => {
    env = await startServer({ highWaterMark: 64 * 1024 });
    const client = await connect(env.url);
    const [ws] = [...env.wss.clients];
    client._socket.pause();
    const chunk = Buffer.alloc(64 * 1024);
    let sent = 0;
    while (ws.send(chunk)) {
      sent += 1;
      if (sent > 500) throw new Error('send never reported backpressure');
    }
    // Not bufferedAmount here: the engine's writer may already be emptying the queue (the
    // kernel takes megabytes before a paused client pushes back). Whoever writes it, a false
    // send is followed by one 'drain'.
    const drained = once(ws, 'drain');
    let received = 0;
    client.on('message', () => (received += 1));
    client._socket.resume();
    await drained;
    expect(ws.bufferedAmount).toBe(0);
    await until(() => received === sent + 1, 5000, 'every message');
    client.close();
  });

  it('counts each queued frame as at least 64 bytes: a flood of empty pings from a client that never reads is cut', async () => {
    // Without the cut on unwritten pongs (maxPendingAutoPongs), which would come first.
    env = await startServer({ sendTimeout: 500, closeTimeout: 500, maxPendingAutoPongs: 0 });
    const { raw, errors, closeEvent } = await rawPair(env, { closeWithin: 25000 });
    raw.pause();
    // 5 million empty pings: their pongs fill the kernel's buffers, then queue at 2 bytes each,
    // far below maxBackpressure's 16 MiB in bytes, but not in what they cost to hold.
    const ping = frame(0x9, Buffer.alloc(0));
    const burst = Buffer.concat(Array.from({ length: 50000 }, () => ping));
    for (let i = 0; i < 100; i++) raw.write(burst);
    const [code] = await closeEvent;
    expect([code, errors.map((e) => e.code)]).toEqual([1008, ['WS_ERR_BACKPRESSURE']]);
    raw.destroy();
  }, 30000);

  it("emits no 'drain' while the queue is past highWaterMark again, and one once it drains", async () => {
    env = await startServer({ highWaterMark: 64 * 1024, maxBackpressure: 64 << 20, sendTimeout: 60000 });
    const { raw, ws } = await rawPair(env);
    raw.pause();
    const drains = [];
    ws.on('drain', () => drains.push(ws.bufferedAmount));
    // One job past the mark many times over: the engine's writer empties the queue now and then
    // (into the kernel's buffers) while the loop keeps filling it.
    for (let i = 0; i < 200; i++) ws.send(Buffer.alloc(64 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(drains.filter((queued) => queued > 64 * 1024)).toEqual([]);
    raw.resume();
    await until(() => drains.length > 0 && ws.bufferedAmount === 0, 10000, "the queue to drain and a 'drain'");
    raw.destroy();
  });

  it('pings every pingInterval and drops a peer silent for idleTimeout with 1006, keeping one that answers', async () => {
    env = await startServer({ pingInterval: 100, idleTimeout: 300 });
    const answering = await connect(env.url); // ws answers each ping with a pong
    let answered = 0;
    answering.on('ping', () => answered++);
    const { raw, closeEvent } = await rawPair(env); // never answers
    const opened = Date.now();
    const [code] = await closeEvent;
    const silentFor = Date.now() - opened;
    expect(code).toBe(1006);
    expect(silentFor).toBeGreaterThanOrEqual(250);
    expect(silentFor).toBeLessThan(2000);
    await socketClosed(raw);
    const { rest } = await readResponse(raw);
    expect(parseFrames(rest).filter((f) => f.opcode === 9).length).toBeGreaterThanOrEqual(2);
    // Pinged past twice the idle timeout, and still open.
    await until(() => answered >= 6, 5000, 'six pings');
    expect(answering.readyState).toBe(answering.OPEN);
    answering.close();
  });

  it('drops a silent peer on idleTimeout alone (pingInterval 0), keeping one that talks', async () => {
    env = await startServer({ pingInterval: 0, idleTimeout: 200 });
    env.wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    const talking = await connect(env.url);
    let echoes = 0;
    talking.on('message', () => {
      echoes++;
      if (echoes < 12) setTimeout(() => talking.send('still here'), 50);
    });
    talking.send('hello');
    const { raw, closeEvent } = await rawPair(env);
    expect((await closeEvent)[0]).toBe(1006);
    await socketClosed(raw);
    expect(parseFrames((await readResponse(raw)).rest)).toEqual([]);
    await until(() => echoes >= 12, 5000, 'twelve echoes');
    expect(talking.readyState).toBe(talking.OPEN);
    talking.close();
  });

  it('counts every byte a client sends as life: a long message uploaded slowly is not silence', async () => {
    env = await startServer({ pingInterval: 0, idleTimeout: 300 });
    const { raw, ws } = await rawPair(env);
    const received = once(ws, 'message', 5000);
    // One 24 KB message, 1 KB every 25 ms: 600 ms in all, twice the idle timeout, no pong.
    const bytes = frame(0x2, Buffer.alloc(24 * 1024, 7));
    let offset = 0;
    const timer = setInterval(() => {
      raw.write(bytes.subarray(offset, offset + 1024));
      offset += 1024;
      if (offset >= bytes.length) clearInterval(timer);
    }, 25);
    const [data] = await received;
    clearInterval(timer);
    expect(data.length).toBe(24 * 1024);
    raw.destroy();
  });

  it('cuts a client that stops reading with 1008 once its queue is past maxBackpressure for sendTimeout, others unaffected', async () => {
    env = await startServer({ highWaterMark: 256 * 1024, maxBackpressure: 1024 * 1024, sendTimeout: 300, closeTimeout: 500 });
    env.wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    const { raw, ws, errors, closeEvent } = await rawPair(env);
    raw.pause();
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sends = 0;
    let backedUpAt = 0;
    // Bounded: 2,000 sends of 64 KiB, one per millisecond at most.
    while (ws.readyState === ws.OPEN && sends < 2000) {
      ws.send(chunk);
      sends += 1;
      if (backedUpAt === 0 && ws.bufferedAmount > 1024 * 1024) backedUpAt = Date.now();
      await new Promise((r) => setTimeout(r, 1));
    }
    // Cut once the queue has been past the bound, with no byte taken, for about 300 ms.
    expect(sends).toBeLessThan(2000);
    expect(backedUpAt).toBeGreaterThan(0);
    expect(Date.now() - backedUpAt).toBeGreaterThanOrEqual(250);
    expect(ws.readyState).toBe(ws.CLOSING);
    expect(ws.send('more')).toBe(false);
    const other = await connect(env.url);
    other.send('ping?');
    expect((await once(other, 'message'))[0].toString()).toBe('ping?');
    const [code] = await closeEvent;
    expect(code).toBe(1008);
    expect(errors.map((e) => e.code)).toEqual(['WS_ERR_BACKPRESSURE']);
    raw.destroy();
    other.close();
  });

  it('leaves a backed-up client to sendTimeout (1008), not to a shorter idleTimeout', async () => {
    env = await startServer({ maxBackpressure: 1024 * 1024, sendTimeout: 600, closeTimeout: 500, pingInterval: 0, idleTimeout: 150 });
    const { raw, ws, errors, closeEvent } = await rawPair(env);
    raw.pause();
    // Far past the bound within a few turns, once the kernel's buffers are full: the engine
    // then stops reading it, so its silence proves nothing.
    const chunk = Buffer.alloc(1024 * 1024, 1);
    for (let i = 0; i < 64 && ws.bufferedAmount <= 8 * 1024 * 1024; i++) {
      ws.send(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(ws.bufferedAmount).toBeGreaterThan(8 * 1024 * 1024);
    const [code] = await closeEvent;
    expect(code).toBe(1008);
    expect(errors.map((e) => e.code)).toEqual(['WS_ERR_BACKPRESSURE']);
    raw.destroy();
  });

  it('stops reading a client while JavaScript has not taken its messages', async () => {
    env = await startServer({ maxInboundPending: 64 * 1024 });
    const flag = path.join(os.tmpdir(), `ferrows-stalled-${process.pid}-${Date.now()}`);
    let received = 0;
    let blocked = false;
    env.wss.on('connection', (ws) =>
      ws.on('message', () => {
        received += 1;
        if (blocked) return;
        blocked = true;
        // Block this thread (as a slow handler would) until the client has seen its sends
        // stall, bounded at 15 s. Only a synchronous check can observe that from here.
        const deadline = Date.now() + 15000;
        while (!fs.existsSync(flag) && Date.now() < deadline);
      })
    );
    // The client runs in its own process so that it keeps sending while this thread is blocked;
    // it reports its unsent bytes once they have stopped going down for 300 ms.
    const script = `
      const fs = require('fs');
      const WS = require(${JSON.stringify(require.resolve('ws'))});
      const c = new WS(process.argv[1], { rejectUnauthorized: false });
      c.on('open', () => {
        const chunk = Buffer.alloc(64 * 1024);
        for (let i = 0; i < 640; i++) c.send(chunk);
        let last = -1;
        const t = setInterval(() => {
          if (c.bufferedAmount === last) {
            clearInterval(t);
            console.log(last);
            fs.writeFileSync(process.argv[2], '');
          }
          last = c.bufferedAmount;
        }, 300);
      });
      process.stdin.on('data', () => c.close());`;
    const child = spawn(process.execPath, ['-e', script, env.url, flag], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const [stalled] = await once(child.stdout, 'data', 20000);
      // 40 MiB sent; with a 64 KiB bound the server holds little beyond the kernel's buffers.
      expect(Number(stalled.toString())).toBeGreaterThan(16 * 1024 * 1024);
      await until(() => received === 640, 15000, 'all 640 messages after unblocking');
      child.stdin.end('close');
      await once(child, 'exit', 5000);
    } finally {
      child.kill();
      fs.rmSync(flag, { force: true });
    }
  });
});
