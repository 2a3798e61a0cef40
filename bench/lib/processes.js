'use strict';

// Starting a bench server and the loadgen, each pinned to its own core, and stopping them.
// Only processes started here are ever signalled, by their PID.

const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { RUST_SERVER_BIN } = require('./prepare');

const SERVER_CORE = '0';
const LOADGEN_CORE = '1';
const READY_TIMEOUT_MS = 15000;

// Children still running, so an interrupted run can stop exactly what it started.
const live = new Set();

function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function killAll() {
  for (const child of live) child.kill('SIGKILL');
}

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

// `taskset -c CORE cmd` execs cmd, so the PID we get is the program's own.
function pinned(core, command, args) {
  return hasTaskset ? ['taskset', ['-c', core, command, ...args]] : [command, args];
}

// A port the kernel just handed out, free again for the server to take.
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function exited(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

// `chrt -r 1 cmd` execs cmd under SCHED_RR (root or CAP_SYS_NICE), keeping the PID too.
const hasChrt = spawnSync('chrt', ['-r', '1', 'true']).status === 0;

// A command prefix that runs a program with a descriptor limit of `n` (soft and hard), or null
// when neither way works here: raising the hard limit takes CAP_SYS_RESOURCE (root's, unless a
// container drops it). Node raises its soft limit to the hard one at startup, but a server
// holding 100,000 connections needs more than the usual hard limit. Both ways exec the
// program, so the PID stays the server's.
const fdLimitPrefixes = new Map();
function fdLimitPrefix(n) {
  if (!fdLimitPrefixes.has(n)) {
    const ways = [
      ['prlimit', `--nofile=${n}:${n}`],
      // Where util-linux is missing: the shell's ulimit sets both limits without -H or -S.
      ['sh', '-c', `ulimit -n ${n} && exec "$0" "$@"`],
    ];
    const works = ways.find(([command, ...args]) => spawnSync(command, [...args, 'true']).status === 0);
    fdLimitPrefixes.set(n, works ?? null);
  }
  return fdLimitPrefixes.get(n);
}

// The hard descriptor limit the runner has, and so passes on to what it starts.
function hardFdLimit() {
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  return /^Max open files\s+\S+\s+(\S+)/m.exec(limits)?.[1] ?? 'unknown';
}

// Starts servers/NAME.js (or, for `rust`, the pure-Rust server) and resolves once it prints `ready`. Resolves { unavailable } when the
// server says its implementation is missing or cannot compress (with `deflate`), or, with
// `realtime`, when SCHED_RR cannot be had, or, with `nofile`, when the descriptor limit cannot
// be raised that far; rejects when it fails otherwise. `env` adds to the contract's variables
// (REDIS for the scale-out servers).
async function startServer(name, mode, { realtime = false, deflate = false, nofile = 0, env = {} } = {}) {
  if (realtime && !hasChrt) return { unavailable: 'chrt -r 1 is not permitted here (needs root or CAP_SYS_NICE)' };
  // The server under each wrapper asked for, outermost first; every wrapper execs the next.
  // `rust` is a program of its own; every other server is a Node script in servers/.
  let argv = name === 'rust' ? [RUST_SERVER_BIN] : [process.execPath, path.join(__dirname, '..', 'servers', `${name}.js`)];
  if (nofile) {
    const prefix = fdLimitPrefix(nofile);
    if (!prefix) {
      const why = `the hard limit is ${hardFdLimit()}; raising it takes CAP_SYS_RESOURCE`;
      return { unavailable: `cannot raise the descriptor limit to ${nofile} (${why})` };
    }
    argv = [...prefix, ...argv];
  }
  if (realtime) argv = ['chrt', '-r', '1', ...argv];
  const port = await freePort();
  const [command, args] = pinned(SERVER_CORE, argv[0], argv.slice(1));
  const child = track(
    spawn(command, args, {
      env: { ...process.env, ...env, PORT: String(port), MODE: mode, DEFLATE: deflate ? '1' : '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop(child);
      reject(new Error(`${name} did not print ready within ${READY_TIMEOUT_MS / 1000} s`));
    }, READY_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const unavailable = /^unavailable: (.*)$/m.exec(stdout);
      if (unavailable) {
        clearTimeout(timer);
        resolve({ unavailable: unavailable[1] });
      } else if (/^ready$/m.test(stdout)) {
        clearTimeout(timer);
        child.stdout.resume(); // keep draining so a chatty server never blocks on its pipe
        resolve({ child, pid: child.pid, url: `ws://127.0.0.1:${port}/`, stderr: () => stderr });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const why = stderr.trim().split('\n').slice(-3).join(' | ');
      reject(new Error(`${name} exited (${signal || code}) before ready: ${why}`));
    });
  });
}

// SIGTERM, then SIGKILL if the server is still there after a grace period.
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const grace = new Promise((resolve) => setTimeout(resolve, 2000).unref());
  await Promise.race([exited(child), grace]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited(child);
  }
}

// Runs the loadgen to completion and returns its JSON line, parsed. The loadgen enforces its
// own hard cap; `capSeconds` is a second line of defence in case it cannot.
function runLoadgen(binary, args, capSeconds) {
  const [command, argv] = pinned(LOADGEN_CORE, binary, args);
  const child = track(spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), capSeconds * 1000);
  return exited(child).then(() => {
    clearTimeout(timer);
    const line = stdout.trim().split('\n').pop();
    try {
      return JSON.parse(line);
    } catch {
      const why = stderr.trim().split('\n').pop() || `exit ${child.exitCode ?? child.signalCode}`;
      return { error: `no JSON from the loadgen: ${why}` };
    }
  });
}

/** Runs `main`, stopping every process this run started on a signal or a failure. */
function runMain(main) {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  main().catch((err) => {
    killAll();
    console.error(`bench: ${err.message}`);
    process.exit(1);
  });
}

/** Prints the tables and writes the results file. */
function publish(out, body, text) {
  console.log(body);
  fs.writeFileSync(out, text);
  console.error(`bench: wrote ${path.relative(process.cwd(), out)}`);
}

module.exports = {
  runMain,
  publish,
  hasTaskset,
  SERVER_CORE,
  LOADGEN_CORE,
  pinned,
  track,
  freePort,
  exited,
  startServer,
  stop,
  runLoadgen,
  killAll,
};
