'use strict';

// The TypeScript declarations, checked the way an application uses them: `tsc` over typed usage
// files must pass (__test__/types), and over known mistakes must fail with the expected errors
// (__test__/types/negative).

const path = require('path');
const { execFile } = require('child_process');

const ROOT = path.join(__dirname, '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Runs tsc on a project; resolves with { code, output } (never rejects on type errors). */
function tsc(project) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [TSC, '-p', path.join(__dirname, project), '--pretty', 'false'],
      { cwd: ROOT, timeout: 60000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err); // spawn failure or timeout
        resolve({ code: err ? err.code : 0, output: `${stdout}${stderr}` });
      }
    );
  });
}

describe('TypeScript declarations', () => {
  jest.setTimeout(90000);

  it('a typed usage of the native face compiles under strict', async () => {
    const { code, output } = await tsc('types');
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it.each([
    ['websocket-face', 'websocket'],
    ['ws-face', 'ws'],
  ])('%s.ts (the %s face used as its users write it) compiles under strict', async (file) => {
    const { code, output } = await tsc(`types/tsconfig.${file}.json`);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('rejects mistakes: wrong option type, unsendable data, a non-socket in except, a cluster that is no list', async () => {
    const { code, output } = await tsc('types/negative');
    expect(code).not.toBe(0);
    const errors = output.split('\n').filter((line) => line.includes('error TS'));
    const file = path.join('__test__', 'types', 'negative', 'bad-usage.ts');
    expect(errors).toEqual([
      expect.stringMatching(/bad-usage\.ts\(5,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/),
      expect.stringMatching(/bad-usage\.ts\(6,\d+\): error TS2353: .*'text' does not exist in type/),
      expect.stringMatching(/bad-usage\.ts\(7,\d+\): error TS2322: Type 'string' is not assignable to type 'WebSocket'/),
      expect.stringMatching(/bad-usage\.ts\(8,\d+\): error TS2322: Type 'string' is not assignable to type 'string\[\]'/),
    ]);
    expect(errors.every((line) => line.startsWith(file))).toBe(true);
  });
});
