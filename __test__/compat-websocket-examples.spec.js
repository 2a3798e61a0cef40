'use strict';

// The websocket package's examples (examples/websocket-compat/) run unchanged on ferrows, driven
// by the package's client and by ws.

const path = require('path');
const { spawn } = require('child_process');
const { until } = require('./helpers');
const { WAIT, wsOpen, pkgConnect } = require('./compat-websocket-helpers');

describe('examples', () => {
  const EXAMPLES = path.join(__dirname, '..', 'examples', 'websocket-compat');
  const running = new Set();

  afterEach(() => {
    for (const child of running) child.kill('SIGKILL');
    running.clear();
  });

  /** Starts an example unchanged on a free port; resolves once it printed its URL. */
  async function run(file) {
    const child = spawn(process.execPath, [path.join(EXAMPLES, file)], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    child.output = '';
    child.stdout.on('data', (d) => (child.output += d));
    child.stderr.on('data', (d) => (child.output += d));
    await until(() => /ws:\/\/127\.0\.0\.1:\d+\//.test(child.output) || child.exitCode !== null, 10000, `${file} to listen`);
    const match = /ws:\/\/127\.0\.0\.1:(\d+)\//.exec(child.output);
    if (!match) throw new Error(`${file} did not start:\n${child.output}`);
    return { child, url: `ws://127.0.0.1:${match[1]}/` };
  }

  it('server.js echoes on echo-protocol and logs messages and close reasons', async () => {
    const { child, url } = await run('server.js');
    const client = await pkgConnect(url, ['echo-protocol']);
    client.sendUTF('hello example');
    await until(() => client.got.length === 1, WAIT, 'the echo');
    expect(client.got[0]).toEqual({ type: 'utf8', utf8Data: 'hello example' });
    client.close(1000, 'bye now');
    await client.closed;
    await until(() => /disconnected: 1000 bye now/.test(child.output), WAIT, 'the close log');
    expect(child.output).toMatch(/Received Message: hello example/);
  });

  it('chat.js forwards every message to every client', async () => {
    const { child, url } = await run('chat.js');
    const alice = await wsOpen(url);
    const bob = await pkgConnect(url);
    await until(() => /2 online/.test(child.output), WAIT, 'two clients');
    alice.send('hi from alice');
    bob.sendUTF('hi from bob');
    await until(() => alice.got.length === 2 && bob.got.length === 2, WAIT, 'two messages each');
    expect(alice.got.map(([t]) => t).sort()).toEqual(['hi from alice', 'hi from bob']);
    expect(bob.got.map((m) => m.utf8Data).sort()).toEqual(['hi from alice', 'hi from bob']);
    alice.close();
    await alice.closed;
    await until(() => /left: 1006 Connection dropped by remote peer\./.test(child.output), WAIT, 'the leave log');
    bob.close();
    await bob.closed;
  });
});
