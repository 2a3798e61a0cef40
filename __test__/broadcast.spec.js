'use strict';

const { startServer, connect, once, until, SCHEMES, useScheme, newClient } = require('./helpers');

describe.each(SCHEMES)('broadcast over %s', (scheme) => {
  beforeAll(() => useScheme(scheme));
  let env;
  beforeEach(async () => {
    env = await startServer();
  });
  afterEach(() => env.stop());

  it('reaches 100 clients except the sender, in order, with one call per message', async () => {
    const clients = await Promise.all(Array.from({ length: 100 }, () => connect(env.url)));
    await until(() => env.wss.clients.size === 100);
    const got = clients.map(() => []);
    clients.forEach((c, i) => c.on('message', (d, isBinary) => got[i].push([d.toString(), isBinary])));
    const sender = [...env.wss.clients][0];
    const senderIndex = clients.findIndex((c) => c._socket.localPort === sender.remotePort);
    expect(env.wss.broadcast('one', { except: sender })).toBe(99);
    expect(env.wss.broadcast(Buffer.from('two'), { except: sender })).toBe(99);
    expect(env.wss.broadcast('three')).toBe(100);
    await until(() => got.every((g, i) => g.length === (i === senderIndex ? 1 : 3)), 5000, 'every delivery');
    got.forEach((g, i) => {
      const expected = i === senderIndex ? [['three', false]] : [['one', false], ['two', true], ['three', false]];
      expect(g).toEqual(expected);
    });
    clients.forEach((c) => c.close());
  });

  it("leaves nobody out for another server's connection, and refuses an except that is no connection", async () => {
    const other = await startServer({ path: '/other' });
    try {
      const mine = await connect(env.url);
      const theirs = await connect(other.url + '/other');
      await until(() => env.wss.clients.size === 1 && other.wss.clients.size === 1);
      const [foreign] = other.wss.clients;
      const got = [];
      mine.on('message', (d) => got.push(d.toString()));
      expect(env.wss.broadcast('news', { except: foreign })).toBe(1);
      expect(env.wss.publish('nobody', 'x', { except: foreign })).toBe(0);
      await until(() => got.length === 1, 5000, 'the broadcast');
      expect(got).toEqual(['news']);
      expect(() => env.wss.broadcast('x', { except: {} })).toThrow(TypeError);
      mine.close();
      theirs.close();
    } finally {
      await other.stop();
    }
  });

  it('tracks clients as a Set that shrinks on close', async () => {
    const a = await connect(env.url);
    const b = await connect(env.url);
    await until(() => env.wss.clients.size === 2);
    for (const ws of env.wss.clients) expect(ws.readyState).toBe(1);
    a.close();
    await until(() => env.wss.clients.size === 1, 5000, 'one client left');
    b.close();
    await until(() => env.wss.clients.size === 0, 5000, 'no client left');
  });

  it('skips connections that are closing', async () => {
    const a = await connect(env.url);
    const b = await connect(env.url);
    await until(() => env.wss.clients.size === 2);
    const [first] = [...env.wss.clients];
    first.close();
    expect(env.wss.broadcast('x')).toBe(1);
    a.close();
    b.close();
  });

  it('broadcasts from a message handler in the order messages arrive', async () => {
    env.wss.on('connection', (ws) => ws.on('message', (d) => env.wss.broadcast(d)));
    const listeners = await Promise.all(Array.from({ length: 10 }, () => connect(env.url)));
    const talker = newClient(env.url);
    await once(talker, 'open');
    const got = listeners.map(() => []);
    listeners.forEach((c, i) => c.on('message', (d) => got[i].push(d.toString())));
    for (let i = 0; i < 200; i++) talker.send(`m${i}`);
    await until(() => got.every((g) => g.length === 200), 10000, 'all fan-outs');
    for (const g of got) expect(g).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    [...listeners, talker].forEach((c) => c.close());
  });
});
