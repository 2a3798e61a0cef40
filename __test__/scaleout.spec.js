'use strict';

// Scale-out through a real Redis: two servers in two child processes (fixtures/scaleout-node.js)
// with clients on each. Every delivery is counted; "nothing else arrived" is proven with a
// marker sent after the message under test (one subscriber connection per node, and Redis keeps
// the order of one publisher's messages across channels).

const http = require('http');
const { attach } = require('..');
const { connect, once, until } = require('./helpers');
const redis = require('./fixtures/redis');
const { Node, client, count, WAIT } = require('./fixtures/scaleout');

const REDIS_SERVER = redis.find();
const describeRedis = REDIS_SERVER ? describe : describe.skip;
if (!REDIS_SERVER) {
  console.warn("scaleout.spec: SKIPPED, no redis-server found (apt-get install redis-server, or set REDIS_SERVER)");
}

describeRedis('scale-out through Redis', () => {
  let server;
  let a;
  let b;
  let clients;
  let markers = 0;

  /** Broadcasts a marker from `node` and waits until every client has it. */
  async function settle(node) {
    const marker = `marker-${++markers}`;
    await node.broadcast(marker);
    await until(() => clients.every((c) => count(c, marker) === 1), WAIT, marker);
  }

  beforeAll(async () => {
    server = await redis.start(REDIS_SERVER, await redis.freePort());
    const prefix = `test${process.pid}`;
    [a, b] = [new Node(server.url, prefix), new Node(server.url, prefix)];
    for (const node of [a, b]) {
      node.port = (await node.event('listening')).port;
      await node.event('redisReady');
    }
    clients = [
      await client(a, 'a1', ['room']),
      await client(a, 'a2', ['room']),
      await client(b, 'b1', ['room', 'only-b']),
      await client(b, 'b2', ['room']),
    ];
    // A node receives a topic from the moment its subscription reaches Redis.
    await a.subscribed(1);
    await b.subscribed(2);
  }, 30000);

  /** How many nodes Redis sends `topic`'s messages to. */
  async function receivers(topic) {
    const [n] = await redis.integers(server.port, ['PUBSUB', 'NUMSUB', `test${process.pid}:t:${topic}`]);
    return n;
  }

  afterAll(async () => {
    for (const c of clients || []) c.ws.terminate();
    for (const node of [a, b]) if (node) node.stop();
    if (server) await server.stop();
  });

  test('publish and broadcast reach every client of both nodes exactly once', async () => {
    const sent = [];
    for (let i = 0; i < 20; i++) {
      expect(await a.publish('room', `p${i}`)).toBe(2);
      expect(await b.broadcast(`b${i}`)).toBe(2);
      sent.push(`p${i}`, `b${i}`);
    }
    await until(() => clients.every((c) => sent.every((s) => count(c, s) >= 1)), WAIT, 'every message');
    await settle(a);
    await settle(b);
    for (const c of clients) for (const s of sent) expect([c.name, s, count(c, s)]).toEqual([c.name, s, 1]);
    // One node's messages of a topic reach the other's clients in the order they were published.
    for (const c of clients.slice(2)) {
      expect(c.got.filter((g) => typeof g === 'string' && /^p\d+$/.test(g))).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`));
    }
  });

  test('a topic with subscribers on one node only reaches them', async () => {
    expect(await a.publish('only-b', 'for-b1')).toBe(0);
    await settle(a);
    expect(clients.map((c) => count(c, 'for-b1'))).toEqual([0, 0, 1, 0]);
  });

  test('Redis sends a topic only to the nodes with a subscriber, and follows them', async () => {
    expect([await receivers('room'), await receivers('only-b'), await receivers('nobody')]).toEqual([2, 1, 0]);
    const b1 = clients[2];
    b1.ws.send('unsub:only-b');
    await until(() => b1.acks.has('unsub:only-b'), WAIT, 'the unsubscribe');
    await b.subscribed(1);
    expect(await receivers('only-b')).toBe(0);
    b1.acks.delete('sub:only-b');
    b1.ws.send('sub:only-b');
    await until(() => b1.acks.has('sub:only-b'), WAIT, 'the subscribe');
    await b.subscribed(2);
    expect(await receivers('only-b')).toBe(1);
  });

  test('a subscriber joining and leaving a topic 500 times costs Redis a few commands', async () => {
    const calls = async () => {
      const stats = await redis.command(server.port, ['INFO', 'commandstats']);
      const of = (name) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      return of('subscribe') + of('unsubscribe');
    };
    const before = await calls();
    const b1 = clients[2];
    for (let i = 0; i < 500; i++) {
      b1.ws.send('sub:churn');
      b1.ws.send('unsub:churn');
    }
    // Acknowledged after every change before it.
    b1.ws.send('after:churn');
    await until(() => b1.acks.has('after:churn'), WAIT, 'the last change');
    await b.subscribed(2);
    await until(async () => (await receivers('churn')) === 0, WAIT, 'no subscription to the topic left');
    // Changes leave in batches, one SUBSCRIBE and one UNSUBSCRIBE per 10 ms at most: a
    // thousand changes in a few tens of milliseconds take a few. Without batching, 1,000.
    expect(await calls() - before).toBeLessThan(100);
  });

  test("an application whose prefix starts with another's shares none of its channels", async () => {
    // App `<prefix>:t` broadcasts on a channel that, unescaped, is app `<prefix>`'s for topic `all`.
    const nested = new Node(server.url, `test${process.pid}:t`);
    try {
      nested.port = (await nested.event('listening')).port;
      await nested.event('redisReady');
      const all = await client(a, 'a-all', ['all']);
      await a.subscribed(2);
      const [ours, theirs] = await redis.integers(server.port, [
        'PUBSUB',
        'NUMSUB',
        `test${process.pid}:t:all`,
        `test${process.pid}%3At:all`,
      ]);
      expect([ours, theirs]).toEqual([1, 1]);
      all.ws.close();
      await a.subscribed(1);
    } finally {
      nested.stop();
    }
  });

  test('binary stays binary and text stays text, byte for byte', async () => {
    const bytes = Buffer.from([0, 255, 13, 10, 0x81, 0xfe, 0xff, 1]);
    await a.publish('room', bytes);
    await a.publish('room', 'héllo 😀');
    await settle(a);
    for (const c of clients) {
      const binaries = c.got.filter(Buffer.isBuffer);
      expect(binaries).toHaveLength(1);
      expect(binaries[0].equals(bytes)).toBe(true);
      expect(count(c, 'héllo 😀')).toBe(1);
    }
  });

  test('except is a local connection: it applies on its own node only', async () => {
    expect(await a.publish('room', 'not-for-a1', 'a1')).toBe(1);
    await settle(a);
    expect(clients.map((c) => count(c, 'not-for-a1'))).toEqual([0, 1, 1, 1]);
  });

  test('Redis killed and restarted: local delivery goes on, remote delivery resumes', async () => {
    const from = [a.events.length, b.events.length];
    await server.stop();
    const down = await a.event('error', from[0]);
    expect(down.code).toBe('ERR_FERROWS_REDIS');
    expect(down.message).toMatch(/lost/);
    expect((await a.event('redisReconnect', from[0])).attempt).toBeGreaterThanOrEqual(1);
    await b.event('redisReconnect', from[1]);
    // Nothing comes from Redis while it is down.
    expect(await a.subscriptions()).toBe(0);

    // While Redis is down each node still serves its own clients; the others miss this message
    // for good (at-most-once, no replay).
    expect(await a.publish('room', 'while-down')).toBe(2);
    await until(() => count(clients[0], 'while-down') === 1 && count(clients[1], 'while-down') === 1, WAIT);

    const readyFrom = [a.events.length, b.events.length];
    server = await redis.start(REDIS_SERVER, server.port);
    await a.event('redisReady', readyFrom[0]);
    await b.event('redisReady', readyFrom[1]);
    // Subscriptions are restored before 'redisReady'.
    expect([await receivers('room'), await receivers('only-b')]).toEqual([2, 1]);
    await a.publish('room', 'after-restart');
    await b.publish('room', 'after-restart-b');
    await settle(a);
    await settle(b);
    expect(clients.map((c) => count(c, 'after-restart'))).toEqual([1, 1, 1, 1]);
    expect(clients.map((c) => count(c, 'after-restart-b'))).toEqual([1, 1, 1, 1]);
    expect(clients.map((c) => count(c, 'while-down'))).toEqual([1, 1, 0, 0]);
  }, 30000);
});

describe('scale-out without Redis', () => {
  test('the server serves its own clients and reports the outage', async () => {
    const port = await redis.freePort();
    const httpServer = http.createServer();
    const wss = attach(httpServer, { redis: `redis://:secret@127.0.0.1:${port}/0`, redisPrefix: 'none' });
    const errors = [];
    const reconnects = [];
    wss.on('error', (err) => errors.push(err));
    wss.on('redisReconnect', (attempt) => reconnects.push(attempt));
    wss.on('connection', (ws) => ws.subscribe('t'));
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    try {
      await until(() => errors.length > 0 && reconnects.length > 0, WAIT, "'error' and 'redisReconnect'");
      expect(errors[0].code).toBe('ERR_FERROWS_REDIS');
      expect(errors[0].message).toMatch(/unreachable/);
      expect(errors[0].message).not.toMatch(/secret/);
      const ws = await connect(`ws://127.0.0.1:${httpServer.address().port}`);
      await until(() => wss.subscribers('t') === 1, WAIT);
      const got = once(ws, 'message');
      expect(wss.publish('t', 'local')).toBe(1);
      expect(String((await got)[0])).toBe('local');
      expect(wss.redisDropped).toBeGreaterThanOrEqual(1);
      ws.terminate();
    } finally {
      await wss.close();
      await new Promise((resolve) => httpServer.close(resolve));
    }
  });

  test('the options are checked and named', () => {
    const server = http.createServer();
    expect(() => attach(server, { redis: 6379 })).toThrow(/"redis" option must be a string/);
    expect(() => attach(server, { redis: 'http://127.0.0.1' })).toThrow(/"redis" option must be a redis:\/\//);
    expect(() => attach(server, { redis: 'redis://h', redisPrefix: '' })).toThrow(/"redisPrefix" option/);
    expect(() => attach(server, { redis: 'redis://127.0.0.1:1:2' })).toThrow(/"redis" option is not a usable/);
  });
});
