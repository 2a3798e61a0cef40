'use strict';

// What a run measures: the servers, the scenarios with their loadgen flags, and the budgets
// for the default and the --quick run. Keeping this in one table makes the published numbers
// easy to trace back to the exact flags.

const SERVERS = ['ferrows', 'ferrows-websocket', 'ferrows-ws', 'ws', 'websocket', 'uws', 'rust'];
// Every ratio is against this one.
const BASELINE = 'ws';
const IDLE_100K = 100000;

// `unit` names one operation, the denominator of the server's CPU per operation. `deflate` runs
// the server with permessage-deflate (DEFLATE=1) and the loadgen with --deflate; servers that
// cannot compress say so and their rows read "not run".
const SCENARIOS = [
  {
    name: 'echo-16',
    title: 'echo, 100 conns, 16 in flight, 32 B text',
    mode: 'echo',
    args: ['echo', '--conns', '100', '--inflight', '16', '--size', '32'],
    unit: 'msg',
  },
  {
    // The server process under a real-time policy, as `chrt -r 1` runs it: the engine's thread
    // must keep pace with a real-time JavaScript thread on the same core.
    name: 'echo-16-rr',
    title: 'echo, 100 conns, 16 in flight, 32 B text, server under chrt -r 1 (SCHED_RR)',
    mode: 'echo',
    args: ['echo', '--conns', '100', '--inflight', '16', '--size', '32'],
    unit: 'msg',
    realtime: true,
  },
  {
    name: 'echo-1',
    title: 'echo, 100 conns, 1 in flight, 32 B text',
    mode: 'echo',
    args: ['echo', '--conns', '100', '--inflight', '1', '--size', '32'],
    unit: 'msg',
  },
  {
    name: 'chat',
    title: 'chat room, 1000 receivers, 10 publishers, 64 B text',
    mode: 'broadcast',
    args: ['chat', '--receivers', '1000', '--publishers', '10', '--size', '64'],
    unit: 'delivery',
  },
  {
    name: 'rooms',
    title: 'rooms, 1000 clients in 100 rooms, a publisher in each, 64 B text',
    mode: 'rooms',
    args: ['chat', '--rooms', '100', '--receivers', '900', '--publishers', '100', '--size', '64'],
    unit: 'delivery',
  },
  {
    name: 'churn',
    title: 'connect churn, concurrency 50',
    mode: 'echo',
    args: ['churn', '--concurrency', '50'],
    unit: 'conn',
  },
  {
    name: 'idle',
    mode: 'echo',
    // --duration is how long the connections stay open; the RSS is read after --settle.
    args: ['idle', '--conns', '10000', '--settle', '1'],
    idle: true,
    // --conns comes from the budget: fewer in a --quick run.
    budgetConns: true,
  },
  // Issue #16: ten times the idle row, past what one client address, the default descriptor
  // limits and a 30 s open phase allow (bench/README.md, "100,000 idle connections").
  {
    name: 'idle-100k',
    title: '100,000 idle connections, server RSS',
    mode: 'echo',
    args: ['idle', '--conns', String(IDLE_100K), '--settle', '2', '--open-secs', '90'],
    idle: true,
    // A descriptor per connection on each side, and some for Node and the runtime.
    nofile: IDLE_100K + 1024,
    // The loadgen's hard cap: the open phase, the settle time and the hold, with room to spare.
    maxSecs: 120,
    // 10-20 s a run: the issue's servers only (the others' rows read "not run").
    servers: ['ferrows', 'uws', 'ws'],
  },
  // Issue #15's targets: compression, every message compressed (threshold 0), a JSON-like
  // payload that compresses a few times over.
  {
    name: 'echo-deflate',
    title: 'echo with permessage-deflate, 50 conns, 16 in flight, 1 KB JSON-like text',
    mode: 'echo',
    args: ['echo', '--deflate', '--conns', '50', '--inflight', '16', '--size', '1024'],
    unit: 'msg',
    deflate: true,
  },
  {
    name: 'chat-deflate',
    title: 'chat room with permessage-deflate, 1000 receivers, 10 publishers, 1 KB JSON-like text',
    mode: 'broadcast',
    args: ['chat', '--deflate', '--receivers', '1000', '--publishers', '10', '--size', '1024'],
    unit: 'delivery',
    deflate: true,
  },
  {
    name: 'idle-deflate',
    title: '1,000 connections idle after one 4 KB permessage-deflate echo each, server RSS',
    mode: 'echo',
    args: ['idle', '--deflate', '--conns', '1000', '--size', '4096', '--settle', '1'],
    idle: true,
    deflate: true,
  },
];

const BUDGETS = {
  // 6 servers x 7 scenarios and 4 servers x 3 compressed ones, 3 repeats, about 6 s a run:
  // about 14 minutes in all; idle-100k, where it can run, adds 3 servers x 3 repeats of some
  // 10-20 s (opening 100,000 connections at 6,000 to 18,000 a second, then 2 s of settling).
  full: { repeats: 3, warmup: 1, duration: 4, idleHold: 1.5, idleConns: 10000 },
  quick: { repeats: 1, warmup: 0.5, duration: 1.5, idleHold: 1.2, idleConns: 2000 },
};

// The loadgen command line for one scenario under a budget.
function loadgenArgs(scenario, budget) {
  if (scenario.idle) {
    const args = scenario.args.slice();
    if (scenario.budgetConns) args[args.indexOf('--conns') + 1] = String(budget.idleConns);
    if (scenario.maxSecs) args.push('--max-secs', String(scenario.maxSecs));
    return [...args, '--duration', String(budget.idleHold)];
  }
  return [...scenario.args, '--warmup', String(budget.warmup), '--duration', String(budget.duration)];
}

function titleOf(scenario, budget) {
  if (!scenario.budgetConns) return scenario.title;
  return `${budget.idleConns.toLocaleString('en-US')} idle connections, server RSS`;
}

module.exports = { SERVERS, BASELINE, SCENARIOS, BUDGETS, loadgenArgs, titleOf };
