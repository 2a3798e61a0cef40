'use strict';

// Builds the engine with cargo and installs it as ferrows.<platform>.node, the name the loader
// looks for. This is what `napi build --platform` does; doing it directly keeps the build free of
// JavaScript build tools, so it works the same in this repository and in a user's `npm install`.
//
// Usage: node scripts/build.js [--debug]

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { binaryName } = require('../lib/core/binary-name');

const root = path.join(__dirname, '..');
const debug = process.argv.includes('--debug');
const profile = debug ? 'debug' : 'release';

// Where cargo put its output: CARGO_TARGET_DIR, CARGO_BUILD_TARGET_DIR or `build.target-dir` in a
// cargo config (a user's ~/.cargo/config.toml may set one) all move it away from ./target.
function targetDir() {
  const meta = spawnSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    shell: process.platform === 'win32',
  });
  try {
    return JSON.parse(meta.stdout).target_directory;
  } catch {
    return path.resolve(root, process.env.CARGO_TARGET_DIR || 'target');
  }
}

function build() {
  const args = ['build', '--lib', '--message-format', 'short'];
  if (!debug) args.push('--release');
  const result = spawnSync('cargo', args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status || 1);
  const lib = { win32: 'ferrows.dll', darwin: 'libferrows.dylib' }[process.platform] || 'libferrows.so';
  const triple = process.env.CARGO_BUILD_TARGET || '';
  const built = path.join(targetDir(), triple, profile, lib);
  const target = path.join(root, binaryName());
  // Copy then rename: a process that has the old engine loaded keeps its mapping intact.
  const staging = `${target}.${process.pid}.tmp`;
  fs.copyFileSync(built, staging);
  fs.renameSync(staging, target);
}

module.exports = { build };
if (require.main === module) build();
