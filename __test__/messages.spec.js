'use strict';

const { startServer, connect, once, until, rawClient, upgradeRequest, frame, readResponse, parseFrames, SCHEMES, useScheme, newClient } = require('./helpers');

function echo(wss) {
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
}

describe.each(SCHEMES)('messages over %s', (scheme) => {
  beforeAll(() => useScheme(scheme));
  let env;
  beforeEach(async () => {
    env = await startServer();
    echo(env.wss);
  });
  afterEach(() => env.stop());

  it('delivers text as a string and binary as a Buffer, with isBinary', async () => {
    const got = [];
    env.wss.on('connection', (ws) => ws.on('message', (data, isBinary) => got.push([data, isBinary])));
    const client = await connect(env.url);
    client.send('héllo 😀');
    client.send(Buffer.from([0, 1, 2]));
    await until(() => got.length === 2);
    expect(got[0]).toEqual(['héllo 😀', false]);
    expect(Buffer.isBuffer(got[1][0])).toBe(true);
    expect(got[1]).toEqual([Buffer.from([0, 1, 2]), true]);
    client.close();
  });

  it.each([0, 1, 125, 126, 65535, 65536, 1024 * 1024])('echoes a %i-byte binary and text message intact', async (size) => {
    const client = await connect(env.url);
    const bin = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bin[i] = (i * 31) & 0xff;
    const text = 'x'.repeat(size);
    const got = [];
    client.on('message', (data, isBinary) => got.push([data, isBinary]));
    client.send(bin);
    client.send(text);
    await until(() => got.length === 2, 5000, 'two echoes');
    const [[b, bIsBinary], [t, tIsBinary]] = got;
    expect(bIsBinary).toBe(true);
    expect(Buffer.compare(b, bin)).toBe(0);
    expect(tIsBinary).toBe(false);
    expect(t.toString()).toBe(text);
    client.close();
  });

  it('keeps order when sends outgrow the socket buffer and continue while it drains', async () => {
    // Each job queues more than the kernel takes at once, so writes pass from the sending
    // thread to the writer task and back, over and over: every message must arrive, in order.
    const COUNT = 400;
    const chunk = Buffer.alloc(48 * 1024, 7);
    env.wss.on('connection', (ws) => {
      let next = 0;
      const burst = () => {
        for (let i = 0; i < 40 && next < COUNT; i++, next++) {
          ws.send(next % 2 ? `text ${next}` : Buffer.concat([Buffer.from(`${next} `), chunk]));
        }
        if (next < COUNT) setImmediate(burst);
      };
      burst();
    });
    const client = newClient(env.url);
    const got = [];
    // Binary: "<n> " and the chunk; text: "text <n>".
    const seqOf = (data, isBinary) => Number(isBinary ? data.subarray(0, data.indexOf(0x20)) : data.subarray(5));
    client.on('message', (data, isBinary) => got.push([seqOf(data, isBinary), isBinary, data.length]));
    await until(() => got.length === COUNT, 10000, `${COUNT} messages`);
    got.forEach(([, isBinary, length], i) => {
      expect(isBinary).toBe(i % 2 === 0);
      if (isBinary) expect(length).toBe(`${i} `.length + chunk.length);
    });
    expect(got.map(([n]) => n)).toEqual([...Array(COUNT).keys()]);
    client.close();
  });

  it('sends strings, Buffers, TypedArrays, DataViews and ArrayBuffers', async () => {
    env.wss.on('connection', (ws) => {
      ws.send('s');
      ws.send(Buffer.from('b'));
      ws.send(new Uint16Array([0x6261]));
      ws.send(new DataView(new Uint8Array([1, 2, 3]).buffer, 1, 2));
      ws.send(new Uint8Array([9, 8]).buffer);
    });
    const client = newClient(env.url);
    const got = [];
    client.on('message', (d, isBinary) => got.push([d.toString('hex'), isBinary]));
    await until(() => got.length === 5);
    expect(got).toEqual([
      ['73', false],
      ['62', true],
      ['6162', true],
      ['0203', true],
      ['0908', true],
    ]);
    client.close();
  });

  it('throws a TypeError naming the argument for data it cannot send', async () => {
    const [ws] = await Promise.all([once(env.wss, 'connection').then(([w]) => w), connect(env.url)]);
    expect(() => ws.send(42)).toThrow(TypeError);
    expect(() => ws.send({})).toThrow(/"data" argument/);
  });

  it('reassembles fragmented client messages', async () => {
    const client = await connect(env.url);
    client.send('frag', { fin: false });
    client.send('men', { fin: false });
    client.send('ted', { fin: true });
    const [data] = await once(client, 'message');
    expect(data.toString()).toBe('fragmented');
    client.close();
  });

  it('keeps per-connection order across many messages and batches', async () => {
    const client = await connect(env.url);
    const n = 5000;
    const got = [];
    client.on('message', (d) => got.push(Number(d.toString())));
    for (let i = 0; i < n; i++) client.send(String(i));
    await until(() => got.length === n, 10000, `${n} echoes`);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
    client.close();
  });

  it('splits multi-byte text across batch boundaries without corrupting it', async () => {
    const client = await connect(env.url);
    const messages = Array.from({ length: 2000 }, (_, i) => `${i}:ä😀ß`);
    const got = [];
    client.on('message', (d) => got.push(d.toString()));
    for (const m of messages) client.send(m);
    await until(() => got.length === messages.length, 10000, 'all echoes');
    expect(got).toEqual(messages);
    client.close();
  });

  it('answers pings with pongs and reports them with their payloads', async () => {
    const pings = [];
    env.wss.on('connection', (ws) => ws.on('ping', (d) => pings.push(d.toString())));
    const client = await connect(env.url);
    client.ping('are you there');
    const [payload] = await once(client, 'pong');
    expect(payload.toString()).toBe('are you there');
    await until(() => pings.length === 1, 5000, "the server's ping event");
    expect(pings).toEqual(['are you there']);
    client.close();
  });

  it('pings the client and emits the pong', async () => {
    const client = await connect(env.url);
    const [ws] = [...env.wss.clients];
    const pong = once(ws, 'pong');
    ws.ping('p1');
    const [[got], [echoed]] = await Promise.all([once(client, 'ping'), pong]);
    expect(got.toString()).toBe('p1');
    expect(echoed.toString()).toBe('p1');
    expect(() => ws.ping(Buffer.alloc(126))).toThrow(RangeError);
    client.close();
  });

  it('sends no ping or pong once closing, and does not throw (a heartbeat loop meets such connections)', async () => {
    const client = await connect(env.url);
    const [ws] = [...env.wss.clients];
    const pings = [];
    client.on('ping', (d) => pings.push(d.toString()));
    client.on('pong', (d) => pings.push(d.toString()));
    ws.close(1000, 'bye');
    expect(ws.readyState).toBe(ws.CLOSING);
    expect(env.wss.clients.has(ws)).toBe(true);
    expect(ws.ping('after close')).toBe(false);
    expect(ws.pong('after close')).toBe(false);
    const [code] = await once(client, 'close');
    expect(code).toBe(1000);
    expect(pings).toEqual([]);
  });

  it('interleaves control replies between whole application frames', async () => {
    const raw = rawClient(env);
    raw.write(upgradeRequest('/'));
    await readResponse(raw);
    raw.write(Buffer.concat([frame(1, 'a'), frame(9, 'ping'), frame(1, 'b')]));
    await until(() => parseFrames(raw.received.subarray(raw.received.indexOf('\r\n\r\n') + 4)).length === 3);
    const frames = parseFrames(raw.received.subarray(raw.received.indexOf('\r\n\r\n') + 4));
    // The pong leaves as soon as the ping is read; the echoes follow JavaScript.
    const data = frames.filter((f) => f.opcode === 1).map((f) => f.payload.toString());
    const pongs = frames.filter((f) => f.opcode === 10).map((f) => f.payload.toString());
    expect(data).toEqual(['a', 'b']);
    expect(pongs).toEqual(['ping']);
    raw.destroy();
  });
});
