'use strict';

// Everything a run needs before the first measurement: the bench dependencies and a release
// build of the loadgen (cargo rebuilds only what changed, so this is cheap when up to date).

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const BENCH = path.join(__dirname, '..');
const LOADGEN_DIR = path.join(BENCH, 'loadgen');
const LOADGEN_BIN = path.join(LOADGEN_DIR, 'target', 'release', 'loadgen');
// The pure-Rust reference server, a second program of the loadgen's crate (src/bin/rust-server.rs).
const RUST_SERVER_BIN = path.join(LOADGEN_DIR, 'target', 'release', 'rust-server');

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.error) throw new Error(`${command} failed to start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}`);
}

// Every package bench/package.json lists, so a node_modules from before a new competitor was
// added gets it too.
function installBenchDeps() {
  const manifest = JSON.parse(fs.readFileSync(path.join(BENCH, 'package.json'), 'utf8'));
  const names = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies });
  if (names.every((name) => fs.existsSync(path.join(BENCH, 'node_modules', name)))) return;
  console.error('bench: installing the bench dependencies (npm ci in bench/)');
  run('npm', ['ci', '--no-audit', '--no-fund'], BENCH);
}

/** Builds the loadgen and the pure-Rust server; returns the loadgen's path. */
function buildLoadgen() {
  console.error('bench: building the loadgen and the pure-Rust server (cargo build --release)');
  run('cargo', ['build', '--release', '--quiet'], LOADGEN_DIR);
  return LOADGEN_BIN;
}

module.exports = { installBenchDeps, buildLoadgen, RUST_SERVER_BIN };
