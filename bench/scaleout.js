#!/usr/bin/env node
'use strict';

// The cross-node scale-out rows (issue #17): the chat room spread over N server processes that
// share one Redis, for ferrows (attach with `redis`), socket.io with @socket.io/redis-adapter,
// and `ws` with a hand-written Redis fan-out (the floor). Beside the N nodes that hold the
// clients runs one idle node, with no client at all, whose Redis connections go through a
// counting proxy: what Redis sends it is traffic a node with no subscriber of the room pays for.
// Writes bench/RESULTS-scaleout.md. See bench/README.md, "Scale-out across nodes".

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { startServer, stop, runLoadgen, hasTaskset, SERVER_CORE, LOADGEN_CORE, runMain, publish } = require('./lib/processes');
const { parseFlags } = require('./lib/flags');
const { installBenchDeps, buildLoadgen } = require('./lib/prepare');
const { findRedis, startRedis, stopRedis, countingProxy } = require('./lib/redis');
const { machine, median, packageVersion } = require('./lib/report');

const SERVERS = ['ferrows', 'socketio', 'ws'];
const BASELINE = 'ws';
// The chat row's room: 1,000 receivers and 10 publishers, 64 B text, now dealt over the nodes.
const CHAT = ['chat', '--receivers', '1000', '--publishers', '10', '--size', '64'];
const BUDGETS = {
  full: { repeats: 3, warmup: 1, duration: 4, nodes: [2, 4] },
  quick: { repeats: 1, warmup: 0.5, duration: 1.5, nodes: [2, 4] },
};
const USAGE = `usage: node bench/scaleout.js [--quick] [--repeats N] [--warmup S] [--duration S]
                              [--servers a,b] [--nodes 2,4] [--out FILE]
servers: ${SERVERS.join(', ')}`;

function makePlan(flags) {
  const budget = { ...(flags.quick ? BUDGETS.quick : BUDGETS.full) };
  for (const key of ['repeats', 'warmup', 'duration']) {
    if (flags[key] !== undefined) budget[key] = Number(flags[key]);
  }
  if (flags.nodes) budget.nodes = flags.nodes.split(',').map(Number);
  if (!budget.nodes.every((n) => Number.isInteger(n) && n >= 1 && n <= 8)) throw new Error(`--nodes: 1 to 8 each\n${USAGE}`);
  const servers = flags.servers ? flags.servers.split(',') : SERVERS;
  const unknown = servers.filter((s) => !SERVERS.includes(s));
  if (unknown.length) throw new Error(`unknown servers: ${unknown.join(', ')}\n${USAGE}`);
  return { budget, servers, out: flags.out ?? path.join(__dirname, flags.quick ? 'RESULTS-scaleout-quick.md' : 'RESULTS-scaleout.md') };
}

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

// utime + stime of a process in µs, as the loadgen reads it (bench/loadgen/src/sys.rs).
function cpuUs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS;
}

const isDead = (child) => child.exitCode !== null || child.signalCode !== null;

// One server at one node count: a fresh Redis, N nodes with the clients, one idle node behind
// the proxy, the loadgen; then everything stopped, by PID.
async function runOnce(loadgen, redisBinary, budget, server, nodes) {
  const redis = await startRedis(redisBinary);
  const proxy = await countingProxy(redis.port);
  const started = [];
  try {
    const start = async (port) => {
      const env = { REDIS: `redis://127.0.0.1:${port}/0`, REDIS_PREFIX: 'bench' };
      const node = await startServer(`scaleout/${server}`, 'rooms', { env });
      if (node.unavailable) throw new Error(`unavailable: ${node.unavailable}`);
      started.push(node);
      return node;
    };
    for (let i = 0; i < nodes; i++) await start(redis.port);
    const idle = await start(proxy.port);
    const active = started.slice(0, nodes);

    const before = { bytes: proxy.bytes(), idle: cpuUs(idle.pid), redis: cpuUs(redis.pid), at: Date.now() };
    const args = [
      ...CHAT,
      ...(server === 'socketio' ? ['--socketio'] : []),
      '--warmup', String(budget.warmup),
      '--duration', String(budget.duration),
      '--url', active.map((node) => node.url).join(','),
      // The idle node too: its CPU is part of what the scale-out costs.
      '--server-pid', started.map((node) => node.pid).join(','),
    ];
    const result = await runLoadgen(loadgen, args, budget.warmup + budget.duration + 90);
    const secs = (Date.now() - before.at) / 1000;
    const dead = started.find((node) => isDead(node.child)) ?? (isDead(redis.child) && { stderr: () => 'redis-server died' });
    if (dead) result.error = `a server died during the run: ${dead.stderr().trim().split('\n').pop()}`;
    if (result.error) return result;
    // Over the whole loadgen run (connections, warmup, window, drain), so per published message.
    const idleBytes = proxy.bytes() - before.bytes;
    return {
      ...result,
      idle_bytes: idleBytes,
      idle_bytes_per_msg: idleBytes / Math.max(result.published, 1),
      idle_cpu_pct: (cpuUs(idle.pid) - before.idle) / 1e4 / secs,
      redis_cpu_us_per_delivery: (cpuUs(redis.pid) - before.redis) / Math.max(result.expected, 1),
    };
  } finally {
    for (const node of started) await stop(node.child);
    await proxy.close();
    await stopRedis(redis);
  }
}

const fmt = (value, digits = 0) =>
  value === null ? '–' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(nodes, servers, results) {
  const rows = servers.map((server) => {
    const runs = results[nodes][server];
    const ok = runs.filter((run) => !run.error);
    const m = (key) => median(ok.map((run) => run[key]));
    return { server, runs, ok, m };
  });
  const base = rows.find((row) => row.server === BASELINE)?.m('server_cpu_us_per_op') ?? null;
  const lines = [
    `### ${nodes} nodes with clients + 1 idle node, one Redis`,
    '',
    '| server | deliveries/s | cross-node/s | nodes\' CPU µs/delivery | CPU/delivery vs ws | Redis CPU µs/delivery | Redis → idle node, bytes/message | idle node CPU | p50 / p99 µs | lost | loadgen CPU |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { server, runs, ok, m } of rows) {
    if (!ok.length) {
      lines.push(`| ${server} | ${runs.length ? `ERROR ${runs[0].error}` : 'not run'} |  |  |  |  |  |  |  |  |  |`);
      continue;
    }
    const cpu = m('server_cpu_us_per_op');
    const lost = ok.reduce((n, run) => n + run.lost, 0);
    const failed = runs.length - ok.length;
    lines.push(
      `| ${server}${failed ? ` (${failed} failed)` : ''} | ${fmt(m('rate'))} | ${fmt(m('cross_node_rate'))} | ${fmt(cpu, 2)} | ` +
        `${base !== null && cpu ? `${fmt(base / cpu, 2)}x` : '–'} | ${fmt(m('redis_cpu_us_per_delivery'), 3)} | ` +
        `${fmt(m('idle_bytes_per_msg'), 1)} (${fmt(m('idle_bytes'))} in all) | ${fmt(m('idle_cpu_pct'), 1)} % | ` +
        `${fmt(m('p50_us'))} / ${fmt(m('p99_us'))} | ${lost ? `**${lost}**` : 0} | ${fmt(m('loadgen_cpu_pct'))} %` +
        `${ok.some((run) => run.loadgen_saturated) ? ' (saturated)' : ''} |`
    );
  }
  return lines.join('\n');
}

function document(plan, argv, redis, body, startedAt, minutes) {
  const pinning = hasTaskset
    ? `nodes and redis-server pinned to core ${SERVER_CORE}, loadgen to core ${LOADGEN_CORE} (taskset); the runner (and its proxy) unpinned`
    : 'NOT pinned (taskset missing)';
  return `# Scale-out benchmark results

- Date: ${startedAt.toISOString()} (${minutes.toFixed(1)} min)
- Command: \`node bench/scaleout.js${argv.length ? ` ${argv.join(' ')}` : ''}\` (from the repository root)
- ${pinning}; ${plan.budget.repeats} repeat(s), medians; windows of ${plan.budget.duration} s after ${plan.budget.warmup} s of warmup
${machine()}
- redis-server ${redis.version}; socket.io ${packageVersion('socket.io')}, @socket.io/redis-adapter ${packageVersion('@socket.io/redis-adapter')}, redis (client) ${packageVersion('redis')}

The chat room of the \`chat\` row (1,000 receivers, 10 publishers, 64 B text, each message to all
1,010 clients) with client i on node i % N. "nodes' CPU" is the sum over every node, the idle one
included, in the window; Redis's CPU and the bytes to the idle node are over the whole loadgen
run, divided by all its deliveries and all its published messages. Every server process shares
one core: N nodes cost the machine what they cost, they do not add cores. See bench/README.md,
"Scale-out across nodes".

${body}
`;
}

async function main() {
  const argv = process.argv.slice(2);
  const flags = parseFlags(argv, ['repeats', 'warmup', 'duration', 'servers', 'nodes', 'out'], USAGE);
  if (flags.help) return console.log(USAGE);
  const plan = makePlan(flags);
  const redis = findRedis();
  if (!redis) throw new Error('redis-server is not installed (Debian: apt-get install redis-server)');
  installBenchDeps();
  const loadgen = buildLoadgen();

  const results = Object.fromEntries(plan.budget.nodes.map((n) => [n, Object.fromEntries(plan.servers.map((s) => [s, []]))]));
  const startedAt = new Date();
  const total = plan.budget.repeats * plan.budget.nodes.length * plan.servers.length;
  let done = 0;
  for (let repeat = 1; repeat <= plan.budget.repeats; repeat++) {
    for (const nodes of plan.budget.nodes) {
      for (const server of plan.servers) {
        const result = await runOnce(loadgen, redis.binary, plan.budget, server, nodes).catch((err) => ({ error: err.message }));
        results[nodes][server].push(result);
        const line = result.error
          ? `ERROR ${result.error}`
          : `${Math.round(result.rate)}/s, ${result.server_cpu_us_per_op} µs CPU/delivery, ${result.idle_bytes} B to the idle node, lost ${result.lost}`;
        console.error(`[${++done}/${total}] ${nodes} nodes ${server} #${repeat}: ${line}`);
      }
    }
  }
  const minutes = (Date.now() - startedAt) / 60000;
  const body = plan.budget.nodes.map((n) => table(n, plan.servers, results)).join('\n\n');
  publish(plan.out, body, document(plan, argv, redis, body, startedAt, minutes));
}

runMain(main);
