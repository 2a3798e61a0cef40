'use strict';

// ESM and CommonJS entry points: `import { attach } from 'ferrows'`, `import WebSocket from
// 'ferrows'` and `require('ferrows')` give the same objects, through package.json `exports`.

const path = require('path');
const { execFile } = require('child_process');
const ferrows = require('..');

const FIXTURE = path.join(__dirname, 'fixtures', 'esm-import.mjs');

/** Runs the ESM fixture in a fresh Node process and parses the JSON it prints. */
function runFixture() {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [FIXTURE], { timeout: 10000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout));
    });
  });
}

describe('module formats', () => {
  let esm;
  beforeAll(async () => {
    esm = await runFixture();
  });

  it('resolves the package name to index.mjs for import', () => {
    expect(esm.resolvedToIndexMjs).toBe(true);
  });

  it('import { attach, Server, WebSocket } from "ferrows" are the CommonJS exports', () => {
    expect(esm).toMatchObject({
      attach: 'function',
      server: 'function',
      connection: 'function',
      sameAttach: true,
      sameConnection: true,
    });
  });

  it('the default import is the CommonJS module', () => {
    expect(esm.defaultIsCjs).toBe(true);
    expect(esm.defaultAttach).toBe(true);
  });

  it('every CommonJS export is also a named ESM export', () => {
    const named = esm.namespaceKeys.filter((k) => k !== 'default');
    expect(named).toEqual(Object.keys(ferrows).sort());
  });

  it('require("ferrows") by name resolves to index.js', () => {
    expect(require.resolve('ferrows')).toBe(path.join(__dirname, '..', 'index.js'));
    expect(require('ferrows')).toBe(ferrows);
    expect(typeof ferrows.attach).toBe('function');
  });
});
