'use strict';

const { startServer, connect, once, until, closed, SCHEMES, useScheme } = require('./helpers');

/** Connects `n` clients and returns them with their server-side sockets, in the same order. */
async function clients(env, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const seen = once(env.wss, 'connection');
    const client = await connect(env.url);
    const [ws] = await seen;
    const got = [];
    client.on('message', (d, isBinary) => got.push([d.toString(), isBinary]));
    out.push({ client, ws, got });
  }
  return out;
}

describe.each(SCHEMES)('topics over %s', (scheme) => {
  beforeAll(() => useScheme(scheme));
  let env;
  beforeEach(async () => {
    env = await startServer();
  });
  afterEach(() => env.stop());

  it('publishes to subscribers only, text and binary, and counts them', async () => {
    const [a, b, c] = await clients(env, 3);
    expect(a.ws.subscribe('room:1')).toBe(true);
    expect(a.ws.subscribe('room:1')).toBe(false);
    b.ws.subscribe('room:1');
    c.ws.subscribe('room:2');
    expect(env.wss.subscribers('room:1')).toBe(2);
    expect(a.ws.isSubscribed('room:1')).toBe(true);
    expect(c.ws.isSubscribed('room:1')).toBe(false);
    expect(a.ws.topics).toEqual(['room:1']);
    expect(env.wss.publish('room:1', 'hello')).toBe(2);
    expect(env.wss.publish('room:1', Buffer.from('bin'))).toBe(2);
    expect(env.wss.publish('room:2', 'two')).toBe(1);
    await until(() => a.got.length === 2 && b.got.length === 2 && c.got.length === 1);
    expect(a.got).toEqual([['hello', false], ['bin', true]]);
    expect(b.got).toEqual(a.got);
    expect(c.got).toEqual([['two', false]]);
  });

  it('ws.publish reaches the topic but not the publisher', async () => {
    const [a, b] = await clients(env, 2);
    a.ws.subscribe('chat');
    b.ws.subscribe('chat');
    expect(a.ws.publish('chat', 'from a')).toBe(1);
    expect(env.wss.publish('chat', 'all', { except: b.ws })).toBe(1);
    await until(() => b.got.length === 1 && a.got.length === 1);
    expect(b.got).toEqual([['from a', false]]);
    expect(a.got).toEqual([['all', false]]);
  });

  it('unsubscribes, and a closed connection leaves all its topics', async () => {
    const [a, b] = await clients(env, 2);
    a.ws.subscribe('x');
    a.ws.subscribe('y');
    b.ws.subscribe('x');
    expect(a.ws.unsubscribe('x')).toBe(true);
    expect(a.ws.unsubscribe('x')).toBe(false);
    expect(env.wss.subscribers('x')).toBe(1);
    const serverClose = once(a.ws, 'close');
    a.client.close();
    await serverClose;
    expect(env.wss.subscribers('y')).toBe(0);
    expect(a.ws.topics).toEqual([]);
    expect(a.ws.subscribe('z')).toBe(false);
    expect(env.wss.topicCount).toBe(1);
  });

  it('frees empty topics: 200,000 short-lived topics leave none behind', async () => {
    const [a] = await clients(env, 1);
    for (let i = 0; i < 200_000; i++) {
      a.ws.subscribe(`t${i}`);
      if (i % 2 === 1) a.ws.unsubscribe(`t${i}`);
    }
    expect(env.wss.topicCount).toBe(100_000);
    const serverClose = once(a.ws, 'close');
    a.client.close();
    await serverClose;
    expect(env.wss.topicCount).toBe(0);
  });

  it('rejects a non-string topic with a TypeError', async () => {
    const [a] = await clients(env, 1);
    expect(() => a.ws.subscribe(42)).toThrow(TypeError);
    expect(() => env.wss.publish(null, 'x')).toThrow(/"topic"/);
  });

  it('cuts a subscriber that stops reading (1008 after sendTimeout) without holding back the room', async () => {
    await env.stop();
    env = await startServer({ highWaterMark: 128 * 1024, maxBackpressure: 512 * 1024, sendTimeout: 300, closeTimeout: 300 });
    const [slow, fast] = await clients(env, 2);
    slow.ws.subscribe('r');
    fast.ws.subscribe('r');
    slow.client._socket.pause();
    const slowClosed = once(slow.ws, 'close', 10000);
    const chunk = Buffer.alloc(32 * 1024, 7);
    let published = 0;
    while (slow.ws.readyState === slow.ws.OPEN && published < 5000) {
      env.wss.publish('r', chunk);
      published += 1;
      // Paced by the subscriber that reads, however loaded the machine is: only the one that
      // does not read may reach its cap.
      await until(() => fast.ws.bufferedAmount < 128 * 1024, 5000, 'the fast subscriber to keep up');
      if (published % 4 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    expect(published).toBeLessThan(5000);
    const [code] = await slowClosed;
    expect(code).toBe(1008);
    await until(() => fast.got.length === published, 10000, 'every message at the fast subscriber');
  });
});
