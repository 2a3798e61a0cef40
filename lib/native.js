'use strict';

// Loads the engine built for this platform, and says what to do when there is none.

const path = require('path');
const fs = require('fs');
const { binaryName } = require('./binary-name');

const file = binaryName();
const location = path.join(__dirname, '..', file);

function load() {
  try {
    return require(location);
  } catch (cause) {
    const found = fs.existsSync(location);
    const err = new Error(
      `ferrows could not load its native engine ${file} (${found ? 'present but not loadable' : 'not found'} ` +
        `in ${path.dirname(location)}): ${cause.message}\n` +
        'Prebuilt engines ship for the platform the package was packed on. To build one from source, ' +
        'install a Rust toolchain (https://rustup.rs) and run `npm rebuild ferrows`.'
    );
    err.code = 'ERR_FERROWS_NATIVE_LOAD';
    err.cause = cause;
    throw err;
  }
}

module.exports = load();
module.exports.binaryName = file;
