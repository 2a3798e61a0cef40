'use strict';

// `npm install` step: keep the prebuilt engine when one for this platform ships in the package
// and loads; otherwise build it from source with cargo, or say clearly what is missing.

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { binaryName } = require('../lib/core/binary-name');

const root = path.join(__dirname, '..');
const name = binaryName();
const prebuilt = path.join(root, name);

/** The error `require` gives for `file`, or null when it loads. */
function loadError(file) {
  try {
    require(file);
    return null;
  } catch (err) {
    return err;
  }
}

function hasCargo() {
  return spawnSync('cargo', ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' }).status === 0;
}

let reason;
if (process.env.FERROWS_BUILD_FROM_SOURCE) {
  reason = 'FERROWS_BUILD_FROM_SOURCE is set';
} else if (!fs.existsSync(prebuilt)) {
  reason = `no prebuilt engine for this platform (${name}) in the package`;
} else {
  const err = loadError(prebuilt);
  if (!err) process.exit(0);
  reason = `the prebuilt engine ${name} does not load here (${String(err.message).split('\n')[0]})`;
}

if (!hasCargo()) {
  // A failed install script rolls the package back, so the way forward is to install again.
  console.error(
    `ferrows: ${reason}, and there is no Rust toolchain (cargo) to build the engine from source.\n` +
      'Install Rust from https://rustup.rs so that `cargo` is on PATH, then install ferrows again.'
  );
  process.exit(1);
}

console.error(`ferrows: ${reason}; building the engine from source with cargo.`);
require('./build').build();

// Installed as a dependency: cargo's build directory (over 100 MB) is of no further use there.
// In a clone of the repository it is the developer's incremental cache, and stays.
if (!process.env.CARGO_TARGET_DIR && root.split(path.sep).includes('node_modules')) {
  fs.rmSync(path.join(root, 'target'), { recursive: true, force: true });
}
