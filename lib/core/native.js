'use strict';

// Loads the engine built for this platform, and says what to do when there is none.

const path = require('path');
const fs = require('fs');
const { binaryName } = require('./binary-name');

const file = binaryName();
const location = path.join(__dirname, '..', '..', file);

/** "linux-x64 (glibc 2.36)", "linux-x64 (musl)", "darwin-arm64": what the error reports. */
function describeSystem() {
  let libc = '';
  if (process.platform === 'linux') {
    const { glibcVersionRuntime } = process.report.getReport().header;
    libc = glibcVersionRuntime ? ` (glibc ${glibcVersionRuntime})` : ' (musl)';
  }
  return `${process.platform}-${process.arch}${libc}, Node.js ${process.version}`;
}

function load() {
  try {
    return require(location);
  } catch (cause) {
    const dir = path.dirname(location);
    const found = fs.existsSync(location);
    let shipped = [];
    try {
      shipped = fs.readdirSync(dir).filter((f) => /^ferrows\..+\.node$/.test(f));
    } catch {
      // the directory itself is unreadable: the cause says so
    }
    const err = new Error(
      `ferrows could not load its native engine ${file} (${found ? 'present but not loadable' : 'not found'} ` +
        `in ${dir}): ${String(cause.message).split('\n')[0]}\n` +
        `This system: ${describeSystem()}. Engines in the package: ${shipped.join(', ') || 'none'}.\n` +
        'Prebuilt engines ship for the platform the package was packed on. To build one from source, ' +
        'install a Rust toolchain (https://rustup.rs) and run `npm rebuild ferrows` (where install scripts ' +
        `are disabled: \`node ${path.join(dir, 'scripts', 'build.js')}\`).`
    );
    err.code = 'ERR_FERROWS_NATIVE_LOAD';
    err.cause = cause;
    throw err;
  }
}

module.exports = load();
module.exports.binaryName = file;
