'use strict';

// examples/cluster/server.js with two workers, through one Redis and through a three-shard Redis
// Cluster: a chat line typed on one worker reaches a tab of the other.

const redis = require('./fixtures/redis');
const { startCluster } = require('./fixtures/redis-cluster');
const { runExample, stopExamples, exited, client, WAIT } = require('./fixtures/examples');
const { until } = require('./helpers');

const REDIS_SERVER = redis.find();
const describeRedis = REDIS_SERVER ? describe : describe.skip;
if (!REDIS_SERVER) {
  console.warn("examples-cluster.spec: SKIPPED, no redis-server found (apt-get install redis-server, or set REDIS_SERVER)");
}

const CHANNEL = 'ferrows-chat:t:room:lobby';

afterEach(stopExamples);

/** The messages of type `type` that `ws` received, parsed. */
const received = (ws, type) => ws.got.map(([text]) => JSON.parse(text)).filter((m) => m.type === type);

/** Runs the example with two workers; resolves with its port once both are linked to Redis. */
async function twoWorkers(env) {
  const { child, port } = await runExample('cluster/server.js', { ...env, WORKERS: '2' });
  await until(() => /worker 1: Redis ready/.test(child.output) && /worker 2: Redis ready/.test(child.output), WAIT, 'both workers linked');
  return { child, port };
}

/** Two tabs on two different workers, joined; `subscribers()` tells how many workers Redis sends the room to. */
async function chatAcrossWorkers({ child, port }, subscribers) {
  const tabs = [];
  for (const name of ['ann', 'bob']) {
    const ws = await client(`ws://127.0.0.1:${port}/ws`);
    ws.send(JSON.stringify({ type: 'join', name }));
    await until(() => received(ws, 'welcome').length === 1, WAIT, `${name}'s welcome`);
    tabs.push(ws);
  }
  // Node's cluster hands connections to the workers in turn, and the stats a worker sends count
  // its own connections: one each means one tab per worker.
  await until(() => tabs.every((ws) => received(ws, 'stats').length > 0), WAIT, 'the stats');
  expect(tabs.map((ws) => received(ws, 'stats')[0].connections)).toEqual([1, 1]);
  await until(async () => (await subscribers()) === 2, WAIT, 'both workers subscribed to the room');

  tabs[0].send(JSON.stringify({ type: 'chat', text: 'hello from the other worker' }));
  await until(() => received(tabs[1], 'chat').length === 1, WAIT, "bob's copy of ann's line");
  expect(received(tabs[1], 'chat')[0]).toMatchObject({ from: 'ann', text: 'hello from the other worker' });

  for (const ws of tabs) ws.terminate();
  const exit = exited(child);
  child.kill('SIGTERM');
  expect(await exit).toEqual([0, null]);
}

describeRedis('examples/cluster/server.js', () => {
  it('carries the chat between workers through one Redis', async () => {
    const server = await redis.start(REDIS_SERVER, await redis.freePort());
    try {
      const workers = await twoWorkers({ REDIS_URL: server.url });
      expect(workers.child.output).toMatch(/2 workers, Redis at redis:\/\/127\.0\.0\.1/);
      await chatAcrossWorkers(workers, async () => (await redis.integers(server.port, ['PUBSUB', 'NUMSUB', CHANNEL]))[0]);
    } finally {
      await server.stop();
    }
  }, 30000);

  it('carries the chat between workers through a Redis Cluster', async () => {
    const cluster = await startCluster(REDIS_SERVER);
    try {
      const workers = await twoWorkers({ REDIS_CLUSTER: cluster.urls.join(',') });
      expect(workers.child.output).toMatch(/2 workers, Redis Cluster at redis:\/\/127\.0\.0\.1:\d+, /);
      const shard = cluster.ports[cluster.owner(await cluster.slotOf(CHANNEL))];
      await chatAcrossWorkers(workers, async () => (await redis.integers(shard, ['PUBSUB', 'SHARDNUMSUB', CHANNEL]))[0]);
    } finally {
      await cluster.stop();
    }
  }, 60000);
});
