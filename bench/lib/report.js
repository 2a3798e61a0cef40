'use strict';

// Turns the runs into medians and markdown tables, and describes the machine.

const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { BASELINE, titleOf } = require('./plan');

function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const sum = (runs, key) => runs.reduce((total, run) => total + (run[key] || 0), 0);

// One server's runs of one scenario, reduced to what the table shows.
function summarize(runs) {
  const ok = runs.filter((run) => !run.error);
  return {
    runs: runs.length,
    failed: runs.length - ok.length,
    error: runs.find((run) => run.error)?.error,
    rate: median(ok.map((r) => r.rate)),
    p50: median(ok.map((r) => r.p50_us)),
    p99: median(ok.map((r) => r.p99_us)),
    cpuPerOp: median(ok.map((r) => r.server_cpu_us_per_op)),
    loadgenCpu: median(ok.map((r) => r.loadgen_cpu_pct)),
    saturated: ok.some((r) => r.loadgen_saturated),
    lost: sum(ok, 'lost'),
    errors: sum(ok, 'errors') + sum(ok, 'stalled') + sum(ok, 'bad'),
    kbPerConn: median(ok.map((r) => r.server_kb_per_conn)),
    closed: sum(ok, 'closed_by_server'),
    // --deflate runs: the server's Sec-WebSocket-Extensions, and messages it did not compress.
    negotiated: ok.find((r) => r.negotiated !== undefined)?.negotiated,
    uncompressed: sum(ok, 'uncompressed'),
  };
}

const fmt = (v, digits = 0) =>
  v === null || v === undefined
    ? '–'
    : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (v) => (v === null || !Number.isFinite(v) ? '–' : `${v.toFixed(2)}x`);

function notes(s) {
  const out = [];
  if (s.failed) out.push(`${s.failed}/${s.runs} runs failed: ${s.error}`);
  if (s.saturated) out.push('loadgen saturated: compare CPU/op');
  if (s.lost) out.push(`**lost ${s.lost}**`);
  if (s.errors) out.push(`${s.errors} errors`);
  if (s.closed) out.push(`${s.closed} closed by server`);
  if (s.uncompressed) out.push(`**${s.uncompressed} messages arrived uncompressed**`);
  if (s.negotiated !== undefined) out.push(`agreed \`${s.negotiated}\``);
  return out.join('; ');
}

// rows: [{ server, summary } | { server, unavailable }]
function throughputTable(scenario, budget, rows) {
  const base = rows.find((r) => r.server === BASELINE)?.summary;
  const lines = [
    `**${titleOf(scenario, budget)}** (one op = one ${scenario.unit})`,
    '',
    '| server | ops/s | vs ws | p50 µs | p99 µs | server CPU µs/op | CPU/op vs ws (ws ÷ this) | loadgen CPU | notes |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const row of rows) {
    if (row.unavailable) {
      lines.push(`| ${row.server} | – | – | – | – | – | – | – | not run: ${row.unavailable} |`);
      continue;
    }
    const s = row.summary;
    lines.push(
      `| ${row.server} | ${fmt(s.rate)} | ${ratio(base?.rate ? s.rate / base.rate : null)} | ` +
        `${fmt(s.p50, 1)} | ${fmt(s.p99, 1)} | ${fmt(s.cpuPerOp, 2)} | ` +
        `${ratio(s.cpuPerOp ? base?.cpuPerOp / s.cpuPerOp : null)} | ${fmt(s.loadgenCpu)} % | ${notes(s)} |`
    );
  }
  return lines.join('\n');
}

function idleTable(scenario, budget, rows) {
  const base = rows.find((r) => r.server === BASELINE)?.summary;
  const lines = [
    `**${titleOf(scenario, budget)}** (lower is better)`,
    '',
    '| server | KB per connection | vs ws (this ÷ ws) | connections opened/s | notes |',
    '| --- | ---: | ---: | ---: | --- |',
  ];
  for (const row of rows) {
    if (row.unavailable) {
      lines.push(`| ${row.server} | – | – | – | not run: ${row.unavailable} |`);
      continue;
    }
    const s = row.summary;
    const vs = base?.kbPerConn ? s.kbPerConn / base.kbPerConn : null;
    lines.push(`| ${row.server} | ${fmt(s.kbPerConn, 2)} | ${ratio(vs)} | ${fmt(s.rate)} | ${notes(s)} |`);
  }
  return lines.join('\n');
}

function tables(plan, budget, results) {
  return plan.scenarios
    .map((scenario) => {
      const rows = plan.servers.map((server) => {
        const entry = results[scenario.name][server];
        return entry.unavailable ? { server, unavailable: entry.unavailable } : { server, summary: summarize(entry.runs) };
      });
      return scenario.idle ? idleTable(scenario, budget, rows) : throughputTable(scenario, budget, rows);
    })
    .join('\n\n');
}

function tryRun(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function packageVersion(name) {
  try {
    return require(path.join(__dirname, '..', 'node_modules', name, 'package.json')).version;
  } catch {
    return 'not installed';
  }
}

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const repo = path.join(__dirname, '..', '..');
  const commit = tryRun('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']);
  const dirty = tryRun('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : '';
  return [
    `- CPU: ${model}, nproc ${os.cpus().length}; Linux ${os.release()}`,
    `- Node ${process.version}; ${tryRun('rustc', ['-V'])}`,
    `- ferrows ${commit}${dirty}; ws ${packageVersion('ws')}, websocket ${packageVersion('websocket')}, ` +
      `uWebSockets.js ${packageVersion('@trufflesuite/uws-js-unofficial')} (@trufflesuite/uws-js-unofficial)`,
  ].join('\n');
}

module.exports = { tables, machine, summarize, median, packageVersion };
