'use strict';

// `npm run autobahn`: starts the echo server and runs the Autobahn|Testsuite fuzzing client
// against it. Uses ../shared/autobahn/run.sh when present (this workplace's harness); anyone
// else can point AUTOBAHN_RUN at an equivalent script, or run wstest by hand (see README).
// QUICK=1 skips the slow groups 9.*, 12.*, 13.*; FULL=1 runs every case, compression included
// (12.* and 13.* take about 15 minutes: the fuzzing client is slow); CASES picks cases by id
// pattern. Exit status is the harness's (0 = no FAILED).

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const harness = process.env.AUTOBAHN_RUN || path.join(__dirname, '..', '..', 'shared', 'autobahn', 'run.sh');
if (!fs.existsSync(harness)) {
  console.error(`autobahn: no harness at ${harness}; set AUTOBAHN_RUN (see README, "Conformance")`);
  process.exit(2);
}

const server = spawn(process.execPath, [path.join(__dirname, 'echo-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
server.stdout.once('data', (line) => {
  const port = /ready (\d+)/.exec(line.toString())[1];
  const everything = process.env.FULL === '1' || process.env.CASES !== undefined;
  const env = { ...process.env, EXCLUDE: process.env.EXCLUDE || (everything ? '' : '12.*,13.*') };
  const args = [harness, `ws://127.0.0.1:${port}`, ...(process.env.CASES ? [process.env.CASES] : [])];
  const run = spawn('bash', args, { stdio: 'inherit', env });
  run.on('exit', (code) => {
    server.kill('SIGTERM');
    process.exitCode = code === null ? 3 : code;
  });
});
server.on('exit', (code) => {
  if (code && !process.exitCode) process.exitCode = 3;
});
