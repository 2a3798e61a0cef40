'use strict';

// `npm install` step: keep the prebuilt engine when one for this platform ships in the package
// and loads; otherwise build it from source with cargo. In the repository that is `napi build`
// (@napi-rs/cli is a dev dependency); in a user's project it is plain cargo, so nothing here
// depends on dev dependencies.

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { binaryName } = require('../lib/binary-name');

const root = path.join(__dirname, '..');
const target = path.join(root, binaryName());

function loads(file) {
  try {
    require(file);
    return true;
  } catch {
    return false;
  }
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status || 1);
}

function hasCargo() {
  return spawnSync('cargo', ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' }).status === 0;
}

function napiCli() {
  try {
    return require.resolve('@napi-rs/cli/dist/cli.js', { paths: [root] });
  } catch {
    return null;
  }
}

function buildWithCargo() {
  run('cargo', ['build', '--release']);
  const lib = { win32: 'ferrows.dll', darwin: 'libferrows.dylib' }[process.platform] || 'libferrows.so';
  fs.copyFileSync(path.join(root, 'target', 'release', lib), target);
}

if (fs.existsSync(target) && loads(target) && !process.env.FERROWS_BUILD_FROM_SOURCE) process.exit(0);
if (!hasCargo()) {
  console.error(
    `ferrows: no prebuilt engine for ${binaryName()} and no Rust toolchain to build one.\n` +
      'Install Rust (https://rustup.rs), then run `npm rebuild ferrows`.'
  );
  process.exit(1);
}
const cli = napiCli();
if (cli) run(process.execPath, [cli, 'build', '--platform', '--release', '--no-js', '--dts', 'binding.d.ts']);
else buildWithCargo();
