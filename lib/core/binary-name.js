'use strict';

// The file name of the engine built for this platform: ferrows.<platform>-<arch>[-abi].node,
// as `napi build --platform` names it.

function libc() {
  if (process.platform !== 'linux') return '';
  const { glibcVersionRuntime } = process.report.getReport().header;
  return glibcVersionRuntime ? '-gnu' : '-musl';
}

function binaryName() {
  const abi = process.platform === 'win32' ? '-msvc' : libc();
  return `ferrows.${process.platform}-${process.arch}${abi}.node`;
}

module.exports = { binaryName };
