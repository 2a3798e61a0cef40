'use strict';

// Scale-out through a real three-shard Redis Cluster (sharded pub/sub): two servers in two
// child processes with clients on each, subscribed to topics on every shard. Topics live on the shards that own their channels'
// slots; a shard restarted or a slot moved is survived. Messages of one topic from one node keep
// their order, so "nothing else arrived" is proven with a marker published on the same topic.

const http = require('http');
const { attach } = require('..');
const { until } = require('./helpers');
const redis = require('./fixtures/redis');
const { startCluster } = require('./fixtures/redis-cluster');
const { Node, client, count, WAIT } = require('./fixtures/scaleout');

const REDIS_SERVER = redis.find();
const describeRedis = REDIS_SERVER ? describe : describe.skip;
if (!REDIS_SERVER) {
  console.warn("scaleout-cluster.spec: SKIPPED, no redis-server found (apt-get install redis-server, or set REDIS_SERVER)");
}

const PREFIX = `cluster${process.pid}`;

describeRedis('scale-out through a Redis Cluster', () => {
  let cluster;
  // Two topics per shard, 'room' among them (chosen in beforeAll: slots depend on the prefix).
  let TOPICS;
  let a;
  let b;
  let clients;
  let markers = 0;

  /** The shard (node index) holding `topic`'s channel now. */
  async function shardOf(topic) {
    return cluster.owner(await cluster.slotOf(`${PREFIX}:t:${topic}`));
  }

  /** How many servers the cluster sends `topic`'s messages to (asked of the shard holding it). */
  async function receivers(topic) {
    const [n] = await redis.integers(cluster.ports[await shardOf(topic)], ['PUBSUB', 'SHARDNUMSUB', `${PREFIX}:t:${topic}`]);
    return n;
  }

  /** Publishes a marker on `topic` from `node` and waits until every subscriber of it has it. */
  async function settle(node, topic, subscribers) {
    const marker = `marker-${++markers}`;
    await node.publish(topic, marker);
    await until(() => subscribers.every((c) => count(c, marker) === 1), WAIT, `${marker} on ${topic}`);
  }

  beforeAll(async () => {
    cluster = await startCluster(REDIS_SERVER);
    const perShard = [[], [], []];
    for (let i = 0; perShard.some((topics) => topics.length < 2); i++) {
      const topic = i === 0 ? 'room' : `topic-${i}`;
      const shard = perShard[await shardOf(topic)];
      if (shard.length < 2) shard.push(topic);
    }
    TOPICS = perShard.flat();
    [a, b] = [new Node({ cluster: [cluster.urls[0]] }, PREFIX), new Node({ cluster: cluster.urls }, PREFIX)];
    for (const node of [a, b]) {
      node.port = (await node.event('listening')).port;
      await node.event('redisReady');
    }
    clients = [
      await client(a, 'a1', TOPICS),
      await client(a, 'a2', ['room']),
      await client(b, 'b1', [...TOPICS, 'only-b']),
      await client(b, 'b2', ['room']),
    ];
    await a.subscribed(TOPICS.length);
    await b.subscribed(TOPICS.length + 1);
  }, 60000);

  afterAll(async () => {
    for (const c of clients || []) c.ws.terminate();
    for (const node of [a, b]) if (node) node.stop();
    if (cluster) await cluster.stop();
  });

  test('topics on every shard and broadcasts reach every subscriber of both nodes exactly once', async () => {
    const [a1, , b1] = clients;
    for (let i = 0; i < 10; i++) {
      for (const topic of TOPICS) {
        await a.publish(topic, `${topic}-a${i}`);
        await b.publish(topic, `${topic}-b${i}`);
      }
      await a.broadcast(`all-${i}`);
    }
    for (const topic of TOPICS) {
      await settle(a, topic, [a1, b1]);
      await settle(b, topic, [a1, b1]);
    }
    for (const c of [a1, b1]) {
      for (const topic of TOPICS) {
        for (let i = 0; i < 10; i++) expect([c.name, count(c, `${topic}-a${i}`), count(c, `${topic}-b${i}`)]).toEqual([c.name, 1, 1]);
      }
    }
    await until(() => clients.every((c) => count(c, 'all-9') === 1), WAIT, 'the broadcasts');
    for (const c of clients) for (let i = 0; i < 10; i++) expect([c.name, i, count(c, `all-${i}`)]).toEqual([c.name, i, 1]);
    // Order per topic from one node is kept across the cluster.
    for (const topic of TOPICS) {
      const fromA = b1.got.filter((g) => typeof g === 'string' && g.startsWith(`${topic}-a`));
      expect(fromA).toEqual(Array.from({ length: 10 }, (_, i) => `${topic}-a${i}`));
    }
  });

  test('each shard sends a topic only to the nodes with a subscriber, and follows them', async () => {
    expect([await receivers('room'), await receivers('only-b'), await receivers('nobody')]).toEqual([2, 1, 0]);
    expect(await a.publish('only-b', 'for-b1')).toBe(0);
    await settle(a, 'only-b', [clients[2]]);
    expect(clients.map((c) => count(c, 'for-b1'))).toEqual([0, 0, 1, 0]);

    const b1 = clients[2];
    b1.ws.send('unsub:only-b');
    await until(() => b1.acks.has('unsub:only-b'), WAIT, 'the unsubscribe');
    await b.subscribed(TOPICS.length);
    expect(await receivers('only-b')).toBe(0);
    b1.acks.delete('sub:only-b');
    b1.ws.send('sub:only-b');
    await until(() => b1.acks.has('sub:only-b'), WAIT, 'the subscribe');
    await b.subscribed(TOPICS.length + 1);
    expect(await receivers('only-b')).toBe(1);
  });

  test("a shard killed and restarted: 'redisReconnect', then 'redisReady' with every subscription back", async () => {
    const shard = await shardOf('room');
    const from = [a.events.length, b.events.length];
    await cluster.restart(shard, async () => {
      const down = await a.event('error', from[0]);
      expect(down.code).toBe('ERR_FERROWS_REDIS');
      expect(down.message).toMatch(/the cluster of redis:\/\/127\.0\.0\.1/);
      await a.event('redisReconnect', from[0]);
      await b.event('redisReconnect', from[1]);
    });
    await a.event('redisReady', from[0]);
    await b.event('redisReady', from[1]);
    expect([await receivers('room'), await receivers('only-b')]).toEqual([2, 1]);
    await a.publish('room', 'after-restart');
    await settle(a, 'room', clients);
    expect(clients.map((c) => count(c, 'after-restart'))).toEqual([1, 1, 1, 1]);
  }, 60000);

  test("a topic's slot moved to another shard: both nodes follow it", async () => {
    const slot = await cluster.slotOf(`${PREFIX}:t:room`);
    const to = (cluster.owner(slot) + 1) % 3;
    const from = [a.events.length, b.events.length];
    await cluster.moveSlot(slot, to);
    await a.event('redisReady', from[0]);
    await b.event('redisReady', from[1]);
    expect(await shardOf('room')).toBe(to);
    await until(async () => (await receivers('room')) === 2, WAIT, "both nodes subscribed at the slot's new shard");
    await b.publish('room', 'after-move');
    await settle(b, 'room', clients);
    expect(clients.map((c) => count(c, 'after-move'))).toEqual([1, 1, 1, 1]);
  }, 60000);
});

describeRedis('scale-out through a Redis Cluster whose primary fails over', () => {
  let cluster;
  let topic;
  let a;
  let b;
  let clients;

  beforeAll(async () => {
    cluster = await startCluster(REDIS_SERVER, 3, { replica: true });
    // A topic on the first shard, the one that fails over.
    for (let i = 0; topic === undefined; i++) {
      if (cluster.owner(await cluster.slotOf(`${PREFIX}f:t:t${i}`)) === 0) topic = `t${i}`;
    }
    // `a` names only the primary that will be gone: it must find the others itself.
    [a, b] = [new Node({ cluster: [cluster.urls[0]] }, `${PREFIX}f`), new Node({ cluster: cluster.urls }, `${PREFIX}f`)];
    for (const node of [a, b]) {
      node.port = (await node.event('listening')).port;
      await node.event('redisReady');
    }
    clients = [await client(a, 'a1', [topic]), await client(b, 'b1', [topic])];
    await a.subscribed(1);
    await b.subscribed(1);
  }, 60000);

  afterAll(async () => {
    for (const c of clients || []) c.ws.terminate();
    for (const node of [a, b]) if (node) node.stop();
    if (cluster) await cluster.stop();
  });

  test("its replica promoted: 'redisReady' again on both nodes, even one that named only the lost primary", async () => {
    const from = [a.events.length, b.events.length];
    await cluster.failOver();
    await a.event('redisReady', from[0]);
    await b.event('redisReady', from[1]);
    const owner = cluster.ports[cluster.owner(await cluster.slotOf(`${PREFIX}f:t:${topic}`))];
    await until(async () => (await redis.integers(owner, ['PUBSUB', 'SHARDNUMSUB', `${PREFIX}f:t:${topic}`]))[0] === 2, WAIT, 'both nodes subscribed at the promoted replica');
    await a.publish(topic, 'after-failover');
    await until(() => clients.every((c) => count(c, 'after-failover') === 1), WAIT, 'the message on both nodes');
    await b.publish(topic, 'from-b');
    await until(() => clients.every((c) => count(c, 'from-b') === 1), WAIT, "b's message on both nodes");
    expect(clients.map((c) => [count(c, 'after-failover'), count(c, 'from-b')])).toEqual([
      [1, 1],
      [1, 1],
    ]);
  }, 60000);
});

describe('the cluster option', () => {
  test('is checked and named', () => {
    const server = http.createServer();
    expect(() => attach(server, { redis: { cluster: [] } })).toThrow(/"redis.cluster" option must be a non-empty array/);
    expect(() => attach(server, { redis: { cluster: 'redis://h:1' } })).toThrow(/"redis.cluster" option must be a non-empty array/);
    expect(() => attach(server, { redis: { cluster: ['redis+unix:///tmp/r.sock'] } })).toThrow(/"redis.cluster" option must be a list of redis:\/\/ URLs/);
    expect(() => attach(server, { redis: { cluster: ['redis://h:1'], url: 'x' } })).toThrow(/Unknown option "redis.url"/);
    expect(() => attach(server, { redis: { cluster: ['redis://127.0.0.1:1:2'] } })).toThrow(/"redis" option is not a usable/);
  });
});
