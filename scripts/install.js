'use strict';

// `npm install` step: keep the prebuilt engine when one for this platform ships in the package
// and loads; otherwise build it from source with cargo, or say clearly what is missing.

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { binaryName } = require('../lib/binary-name');

const prebuilt = path.join(__dirname, '..', binaryName());

function loads(file) {
  try {
    require(file);
    return true;
  } catch {
    return false;
  }
}

function hasCargo() {
  return spawnSync('cargo', ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' }).status === 0;
}

if (!process.env.FERROWS_BUILD_FROM_SOURCE && fs.existsSync(prebuilt) && loads(prebuilt)) process.exit(0);
if (!hasCargo()) {
  console.error(
    `ferrows: no prebuilt engine (${binaryName()}) for this platform and no Rust toolchain to build one.\n` +
      'Install Rust from https://rustup.rs, then run `npm rebuild ferrows`.'
  );
  process.exit(1);
}
require('./build').build();
