'use strict';

const { startServer, connect, once, closed, until, rawClient, upgradeRequest, readResponse, frame, parseFrames, closeFrame, socketClosed, rawPair, SCHEMES, useScheme } = require('./helpers');

async function pair(env) {
  const [[ws], client] = await Promise.all([once(env.wss, 'connection'), connect(env.url)]);
  return { ws, client };
}

describe.each(SCHEMES)('closing over %s', (scheme) => {
  beforeAll(() => useScheme(scheme));
  let env;
  beforeEach(async () => {
    env = await startServer({ closeTimeout: 1000 });
  });
  afterEach(() => env.stop());

  it('reports the client’s code and reason and echoes them', async () => {
    const { ws, client } = await pair(env);
    const serverSide = once(ws, 'close');
    client.close(4001, 'client says bye');
    const [[code, reason], [ccode, creason]] = await Promise.all([serverSide, closed(client)]);
    expect([code, reason]).toEqual([4001, 'client says bye']);
    expect([ccode, creason]).toEqual([4001, 'client says bye']);
    expect(ws.readyState).toBe(ws.CLOSED);
    expect(env.wss.clients.size).toBe(0);
  });

  it('terminate cuts the wait for a client that answered the close but keeps its side open', async () => {
    const raw = rawClient(env, { allowHalfOpen: true });
    const accepted = once(env.wss, 'connection');
    raw.write(upgradeRequest('/'));
    await readResponse(raw);
    const [ws] = await accepted;
    const serverSide = once(ws, 'close', 500); // closeTimeout is 1000
    ws.close(1000, 'bye');
    expect((await closeFrame(raw)).code).toBe(1000);
    const serverEnded = once(raw, 'end');
    raw.write(frame(0x8, Buffer.from([0x03, 0xe8])));
    // The server's end: its close frame is out, and it waits for the client's end.
    await serverEnded;
    ws.terminate();
    expect(await serverSide).toEqual([1000, '']); // the client's close frame, as ws reports it
    raw.destroy();
  });

  it('reports 1005 for a close frame without a code', async () => {
    const { ws, client } = await pair(env);
    const serverSide = once(ws, 'close');
    client.close();
    expect(await serverSide).toEqual([1005, '']);
  });

  it('closes from the server with a code and reason', async () => {
    const { ws, client } = await pair(env);
    const serverSide = once(ws, 'close');
    ws.close(4002, 'server says bye');
    expect(ws.readyState).toBe(ws.CLOSING);
    expect(await closed(client)).toEqual([4002, 'server says bye']);
    expect(await serverSide).toEqual([4002, 'server says bye']);
  });

  it('closes with 1000 by default and ignores a second close', async () => {
    const { ws, client } = await pair(env);
    ws.close();
    ws.close(4000);
    expect(await closed(client)).toEqual([1000, '']);
  });

  it('throws a RangeError for an invalid close code or a long reason', async () => {
    const { ws, client } = await pair(env);
    for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000, 1000.5, '1000']) {
      expect(() => ws.close(code)).toThrow(RangeError);
    }
    expect(() => ws.close(1000, 'x'.repeat(124))).toThrow(/123 bytes/);
    expect(ws.readyState).toBe(ws.OPEN);
    client.close();
  });

  it('sends and queues nothing after close', async () => {
    const { ws, client } = await pair(env);
    ws.close();
    expect(ws.send('late')).toBe(false);
    await closed(client);
  });

  it('delivers messages sent before the close, then the close frame', async () => {
    const { ws, client } = await pair(env);
    const got = [];
    client.on('message', (d) => got.push(d.toString()));
    for (let i = 0; i < 100; i++) ws.send(`m${i}`);
    ws.close(1000, 'done');
    await closed(client);
    expect(got.length).toBe(100);
    expect(got[99]).toBe('m99');
  });

  it('gives up on a peer that never answers the close after closeTimeout with 1006', async () => {
    const raw = rawClient(env);
    const conn = once(env.wss, 'connection');
    raw.write(upgradeRequest('/'));
    await readResponse(raw);
    const [ws] = await conn;
    const started = Date.now();
    const serverSide = once(ws, 'close', 5000);
    ws.close(1000);
    expect((await closeFrame(raw)).code).toBe(1000);
    const [code] = await serverSide;
    expect(code).toBe(1006);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await socketClosed(raw);
  });

  it('terminates at once: the client sees 1006 and the server 1006', async () => {
    const { ws, client } = await pair(env);
    const serverSide = once(ws, 'close');
    ws.terminate();
    expect((await closed(client))[0]).toBe(1006);
    expect((await serverSide)[0]).toBe(1006);
  });

  it('reports 1006 when the client vanishes, and keeps serving the others', async () => {
    env.wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    const { ws, client } = await pair(env);
    const other = await connect(env.url);
    const serverSide = once(ws, 'close');
    // A TCP reset where the socket supports it; a TLS socket can only be destroyed (no close frame).
    if (env.secure) client._socket.destroy();
    else client._socket.resetAndDestroy();
    expect((await serverSide)[0]).toBe(1006);
    other.send('still here');
    const [reply] = await once(other, 'message');
    expect(reply.toString()).toBe('still here');
    other.close();
  });

  it('sends a client that half-closed what it asked for before, then ends: 1006, nothing lost', async () => {
    const { raw, ws, closeEvent: serverSide } = await rawPair(env, { closeWithin: 10000 });
    // The reply goes out while the client's FIN is already in: as from Node's socket, it still
    // reaches the client, which reads on.
    ws.on('message', () => ws.send(Buffer.alloc(4 << 20, 7)));
    raw.write(frame(1, 'send me 4 MiB'));
    raw.end();
    await socketClosed(raw, 10000);
    const frames = parseFrames(raw.received.subarray(raw.received.indexOf('\r\n\r\n') + 4));
    expect(frames.map((f) => [f.opcode, f.payload.length])).toEqual([[2, 4 << 20]]);
    expect((await serverSide)[0]).toBe(1006);
  });

  it('handles a client close frame sent mid-stream of a raw socket and closes TCP', async () => {
    const raw = rawClient(env);
    const conn = once(env.wss, 'connection');
    raw.write(upgradeRequest('/'));
    await readResponse(raw);
    const [ws] = await conn;
    const serverSide = once(ws, 'close');
    const payload = Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('raw bye')]);
    raw.write(frame(8, payload));
    expect(await closeFrame(raw)).toEqual({ code: 4000, reason: 'raw bye' });
    expect(await serverSide).toEqual([4000, 'raw bye']);
    await socketClosed(raw);
  });

  it('server.close() closes every client with 1001 and resolves; a second call is harmless', async () => {
    const clients = await Promise.all([connect(env.url), connect(env.url), connect(env.url)]);
    await until(() => env.wss.clients.size === 3);
    const codes = Promise.all(clients.map((c) => closed(c)));
    const closeEvent = once(env.wss, 'close');
    const first = env.wss.close();
    const second = env.wss.close();
    await Promise.all([first, second, closeEvent]);
    expect((await codes).map(([c]) => c)).toEqual([1001, 1001, 1001]);
    expect(env.wss.clients.size).toBe(0);
  });
});
