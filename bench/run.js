#!/usr/bin/env node
'use strict';

// The benchmark runner (`npm run bench` from the repository root). For every repeat, scenario
// and server, in that order (so servers interleave A B C A B C and slow drifts of the machine
// hit them alike): start the server pinned to core 0, run the loadgen pinned to core 1, stop
// the server. Then medians per server, ratios to `ws`, and the tables in bench/RESULTS.md.
// See bench/README.md.

const os = require('os');
const path = require('path');
const { SERVERS, SCENARIOS, BUDGETS, loadgenArgs } = require('./lib/plan');
const { hasTaskset, startServer, stop, runLoadgen, SERVER_CORE, LOADGEN_CORE, runMain, publish } = require('./lib/processes');
const { parseFlags } = require('./lib/flags');
const { installBenchDeps, buildLoadgen } = require('./lib/prepare');
const { tables, machine } = require('./lib/report');

const USAGE = `usage: node bench/run.js [--quick] [--repeats N] [--warmup S] [--duration S]
                         [--servers a,b] [--scenarios a,b] [--out FILE]
servers:   ${SERVERS.join(', ')}
scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`;

function pick(list, csv, what) {
  if (!csv) return list;
  const wanted = csv.split(',');
  const unknown = wanted.filter((name) => !list.some((item) => (item.name ?? item) === name));
  if (unknown.length) throw new Error(`unknown ${what}: ${unknown.join(', ')}\n${USAGE}`);
  return list.filter((item) => wanted.includes(item.name ?? item));
}

function makePlan(flags) {
  const budget = { ...(flags.quick ? BUDGETS.quick : BUDGETS.full) };
  for (const key of ['repeats', 'warmup', 'duration']) {
    if (flags[key] !== undefined) budget[key] = Number(flags[key]);
  }
  return {
    budget,
    servers: pick(SERVERS, flags.servers, 'servers'),
    scenarios: pick(SCENARIOS, flags.scenarios, 'scenarios'),
    out: flags.out ?? path.join(__dirname, flags.quick ? 'RESULTS-quick.md' : 'RESULTS.md'),
  };
}

// One server under one scenario: start it, load it, stop it.
async function runOnce(loadgen, plan, scenario, server) {
  const options = { realtime: scenario.realtime, deflate: scenario.deflate, nofile: scenario.nofile };
  const started = await startServer(server, scenario.mode, options).catch((err) => ({ error: err.message }));
  if (started.error || started.unavailable) return started;
  try {
    const args = [...loadgenArgs(scenario, plan.budget), '--url', started.url, '--server-pid', String(started.pid)];
    const cap = (scenario.maxSecs ?? plan.budget.warmup + plan.budget.duration + 60) + 30;
    const result = await runLoadgen(loadgen, args, cap);
    if (started.child.exitCode !== null || started.child.signalCode !== null) {
      result.error = `the server died during the run: ${started.stderr().trim().split('\n').pop()}`;
    }
    return result;
  } finally {
    await stop(started.child);
  }
}

function headline(result) {
  if (result.unavailable) return `unavailable (${result.unavailable})`;
  if (result.error) return `ERROR ${result.error}`;
  if (result.scenario === 'idle') return `${result.server_kb_per_conn} KB/conn, ${result.rate.toLocaleString('en-US')} opened/s`;
  const flags = [
    result.loadgen_saturated ? 'loadgen saturated' : '',
    result.lost ? `lost ${result.lost}` : '',
    result.uncompressed ? `${result.uncompressed} uncompressed` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${Math.round(result.rate).toLocaleString('en-US')}/s, ${result.server_cpu_us_per_op} µs CPU/op${flags ? ` (${flags})` : ''}`;
}

function commandLine(argv) {
  const extra = argv.length ? ` ${argv.join(' ')}` : '';
  return process.env.npm_lifecycle_event === 'bench' ? `npm run bench${extra ? ` --${extra}` : ''}` : `node bench/run.js${extra}`;
}

function document(plan, flags, argv, body, startedAt, minutes) {
  const banner = flags.quick
    ? '> **Smoke run (`--quick`)**: one repeat, short windows, fewer idle connections. Not the published numbers.\n\n'
    : '';
  const pinning = hasTaskset
    ? `server pinned to core ${SERVER_CORE}, loadgen to core ${LOADGEN_CORE} (taskset)`
    : 'NOT pinned (taskset missing)';
  return `# Benchmark results

${banner}- Date: ${startedAt.toISOString()} (${minutes.toFixed(1)} min)
- Command: \`${commandLine(argv)}\` (from the repository root)
- ${pinning}; ${plan.budget.repeats} repeat(s), medians; windows of ${plan.budget.duration} s after ${plan.budget.warmup} s of warmup
${machine()}

Ratios are to \`ws\`. "CPU/op vs ws" is ws's server CPU per operation divided by this server's: it
stays meaningful when the loadgen saturates its core ("loadgen saturated"), where ops/s then
measures the loadgen. See bench/README.md for what each scenario does.

${body}
`;
}

async function main() {
  const argv = process.argv.slice(2);
  const flags = parseFlags(argv, ['repeats', 'warmup', 'duration', 'servers', 'scenarios', 'out'], USAGE);
  if (flags.help) return console.log(USAGE);
  const plan = makePlan(flags);
  if (!hasTaskset || os.cpus().length < 2) console.error('bench: WARNING: cannot pin to two cores; numbers will be noisy');
  installBenchDeps();
  const loadgen = buildLoadgen();

  // A scenario with its own list of servers leaves the others out, and says so in its table.
  const skips = (scenario, server) => scenario.servers && !scenario.servers.includes(server);
  const results = {};
  for (const scenario of plan.scenarios) {
    results[scenario.name] = Object.fromEntries(
      plan.servers.map((server) => [
        server,
        skips(scenario, server) ? { runs: [], unavailable: `this row runs ${scenario.servers.join(', ')} only` } : { runs: [] },
      ])
    );
  }
  const startedAt = new Date();
  const runsPerRepeat = plan.scenarios.reduce((n, s) => n + plan.servers.filter((server) => !skips(s, server)).length, 0);
  const total = plan.budget.repeats * runsPerRepeat;
  let done = 0;
  for (let repeat = 1; repeat <= plan.budget.repeats; repeat++) {
    for (const scenario of plan.scenarios) {
      for (const server of plan.servers) {
        const entry = results[scenario.name][server];
        if (skips(scenario, server)) continue;
        done++;
        if (entry.unavailable) continue;
        const result = await runOnce(loadgen, plan, scenario, server);
        if (result.unavailable) entry.unavailable = result.unavailable;
        else entry.runs.push(result);
        console.error(`[${done}/${total}] ${scenario.name} ${server} #${repeat}: ${headline(result)}`);
      }
    }
  }

  const minutes = (Date.now() - startedAt) / 60000;
  const body = tables(plan, plan.budget, results);
  publish(plan.out, body, document(plan, flags, argv, body, startedAt, minutes));
}

runMain(main);
