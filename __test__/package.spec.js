'use strict';

// The user's path: `npm pack`, then `npm install ferrows-x.y.z.tgz` in a fresh project outside the
// repository (no access to its node_modules, no cargo build), then `require('ferrows')` in a server
// and in the project's own Jest tests. Every child process is bounded by a timeout; the temporary
// directory is removed at the end.

const { spawn, spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { binaryName } = require('../lib/core/binary-name');

const repo = path.join(__dirname, '..');
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline'];
// Jest 30 depends on per-platform packages some registries do not serve; users on 29 are many.
const PROJECT_DEPENDENCIES = ['jest@29', 'ws@8'];

/**
 * The environment of the user's shell: without what `npm test` exported about this repository
 * (npm_package_*, npm_config_local_prefix, INIT_CWD, ...), NODE_PATH or Jest's worker variables,
 * but with the npm settings that say how to reach the registry.
 */
function userEnv() {
  const keep = new Set([
    'npm_config_registry',
    'npm_config_cache',
    'npm_config_userconfig',
    'npm_config_globalconfig',
    'npm_config_cafile',
    'npm_config_proxy',
    'npm_config_https_proxy',
    'npm_config_noproxy',
    'npm_config_strict_ssl',
    'npm_config_offline',
  ]);
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    const k = key.toLowerCase();
    if (k.startsWith('npm_') && !keep.has(k)) continue;
    if (['init_cwd', 'node_path', 'node_options', 'jest_worker_id'].includes(k)) continue;
    env[key] = value;
  }
  env.NODE_ENV = 'test';
  return env;
}

/** Runs a command to completion (bounded); throws with its output when it fails or times out. */
function run(cmd, args, { cwd, timeout, env = userEnv() }) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  const ms = Date.now() - started;
  const out = `${r.stdout || ''}${r.stderr || ''}`;
  if (r.error || r.status !== 0) {
    const why = r.error && r.error.code === 'ETIMEDOUT' ? `timed out after ${timeout} ms` : `exit ${r.status} ${r.signal || ''}`;
    throw new Error(`\`${cmd} ${args.join(' ')}\` in ${cwd} failed (${why}):\n${out.slice(-8000)}`);
  }
  return { stdout: r.stdout, stderr: r.stderr, out, ms };
}

/** Runs a client process without blocking this event loop (the server's output keeps flowing). */
function runClient(args, { cwd, timeout = 10000 }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: userEnv() });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`client \`${args.join(' ')}\` failed (${signal === 'SIGKILL' ? `timed out after ${timeout} ms` : `exit ${code ?? signal}`}):\n${out}`));
    });
  });
}

/** Resolves once `text` appears in `output()`; rejects after `ms`. */
async function waitForOutput(output, text, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${JSON.stringify(text)} in:\n${output()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * Starts `node -r loopback.js <script>` in the project: the preload makes every listen() bind
 * 127.0.0.1 on a free port (the documented example says `listen(8080)`) and prints the port.
 * Resolves once the server listens; `stop()` kills this process (by its pid) and waits for it.
 */
function startScript(cwd, script, ms = 10000) {
  const child = spawn(process.execPath, ['-r', './loopback.js', script], { cwd, env: userEnv() });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not listen within ${ms} ms:\n${output}`)), ms);
    child.stdout.on('data', () => {
      const m = /^LOOPBACK-LISTENING (\d+)$/m.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  return {
    port: listening.catch(async (err) => {
      await stop();
      throw err;
    }),
    output: () => output,
    stop,
  };
}

/** The documented server example of the websocket package (its README), verbatim. */
function documentedWebsocketExample() {
  const readme = fs.readFileSync(require.resolve('websocket/README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('Server Example'));
  const m = /```javascript\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('no server example in websocket/README.md');
  return m[1];
}

/** `source` with its require of the websocket package (or of this repository) changed to ferrows. */
function requireFerrows(source, file) {
  const lines = source.split('\n');
  let changed = 0;
  const out = lines.map((line) =>
    line.replace(/require\((['"])([^'"]+)\1\)/g, (whole, q, spec) => {
      const isRepo = spec.startsWith('.') && path.resolve(path.dirname(file), spec).replace(/[\\/](index(\.js)?)?$/, '') === repo;
      if (spec !== 'websocket' && spec !== 'ferrows' && !isRepo) return whole;
      changed++;
      return "require('ferrows')";
    })
  );
  if (changed !== 1) throw new Error(`${file}: expected exactly one require of websocket/ferrows, found ${changed}`);
  return out.join('\n');
}

const LOOPBACK = `'use strict';
// Test harness preload: bind every server to 127.0.0.1 on a free port, and say which.
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const callback = args.find((a) => typeof a === 'function');
  this.once('listening', () => process.stdout.write('LOOPBACK-LISTENING ' + this.address().port + '\\n'));
  return callback ? listen.call(this, 0, '127.0.0.1', callback) : listen.call(this, 0, '127.0.0.1');
};
`;

// A client like the one in the websocket package's README: speaks echo-protocol, sends text and
// binary, expects both back unchanged, closes. Uses ws (installed in the project), a separate
// implementation of the protocol.
const ECHO_CLIENT = `'use strict';
const WebSocket = require('ws');
const [port, protocol] = process.argv.slice(2);
const ws = new WebSocket('ws://127.0.0.1:' + port + '/', protocol ? [protocol] : [], { origin: 'http://127.0.0.1' });
const timer = setTimeout(() => { console.error('client: timed out'); process.exit(2); }, 5000);
const expected = ['hello ferrows', Buffer.from([0, 1, 2, 253, 254, 255])];
ws.on('open', () => { if (protocol && ws.protocol !== protocol) { console.error('client: protocol ' + ws.protocol); process.exit(3); } ws.send(expected[0]); ws.send(expected[1]); });
const got = [];
ws.on('message', (data, isBinary) => {
  got.push(isBinary ? data : data.toString());
  if (got.length === 2) {
    const ok = got[0] === expected[0] && Buffer.isBuffer(got[1]) && got[1].equals(expected[1]);
    if (!ok) { console.error('client: wrong echo ' + JSON.stringify(got)); process.exit(4); }
    ws.close(1000, 'done');
  }
});
ws.on('close', (code) => { clearTimeout(timer); console.log('client: closed ' + code); process.exit(code === 1000 ? 0 : 5); });
ws.on('error', (err) => { console.error('client: ' + err.message); process.exit(6); });
`;

const NATIVE_SERVER = `'use strict';
const http = require('http');
const { attach } = require('ferrows');
const server = http.createServer((req, res) => res.end('plain http'));
const wss = attach(server);
wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
server.listen(8080, () => console.log('resolved ' + require.resolve('ferrows')));
`;

const JEST_TEST = `'use strict';
const http = require('http');
const { once } = require('events');
const WebSocket = require('ws');
const { attach } = require('ferrows');

test('ferrows echoes over a real connection and shuts down cleanly', async () => {
  const server = http.createServer();
  const wss = attach(server);
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = new WebSocket('ws://127.0.0.1:' + server.address().port);
  await once(client, 'open');
  client.send('hello from jest');
  const [data, isBinary] = await once(client, 'message');
  expect(isBinary).toBe(false);
  expect(data.toString()).toBe('hello from jest');
  client.close(1000, 'bye');
  const [code] = await once(client, 'close');
  expect(code).toBe(1000);
  await wss.close();
  await new Promise((resolve) => server.close(resolve));
});
`;

describe('package: npm pack, install in a fresh project, use it there', () => {
  let tmp;
  let project;
  let pack;
  let tarball;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrows-package-'));
    project = path.join(tmp, 'app');
    fs.mkdirSync(project);
    fs.mkdirSync(path.join(tmp, 'pack'));

    const packed = run('npm', ['pack', '--json', '--pack-destination', path.join(tmp, 'pack')], {
      cwd: repo,
      timeout: 60000,
    });
    [pack] = JSON.parse(packed.stdout);
    tarball = path.join(tmp, 'pack', pack.filename);

    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'ferrows-user-app', version: '1.0.0', private: true }, null, 2)
    );
    const install = run('npm', ['install', tarball, ...NPM_FLAGS], { cwd: project, timeout: 120000 });
    const deps = run('npm', ['install', ...PROJECT_DEPENDENCIES, ...NPM_FLAGS], { cwd: project, timeout: 240000 });

    fs.writeFileSync(path.join(project, 'loopback.js'), LOOPBACK);
    fs.writeFileSync(path.join(project, 'echo-client.js'), ECHO_CLIENT);
    fs.writeFileSync(path.join(project, 'native-server.js'), NATIVE_SERVER);
    fs.writeFileSync(path.join(project, 'echo.test.js'), JEST_TEST);

    console.log(
      `ferrows package: ${pack.filename} is ${(pack.size / 1024).toFixed(0)} KiB packed, ` +
        `${(pack.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${pack.entryCount} files; ` +
        `\`npm install ${pack.filename}\` in a fresh project took ${(install.ms / 1000).toFixed(2)} s ` +
        `(then ${PROJECT_DEPENDENCIES.join(' ')}: ${(deps.ms / 1000).toFixed(1)} s)`
    );
  }, 400000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball holds what users need and nothing else', () => {
    const files = pack.files.map((f) => f.path).sort();
    for (const needed of [
      binaryName(),
      'package.json',
      'README.md',
      'index.js',
      'index.mjs',
      'index.d.ts',
      'lib/core/native.js',
      'lib/faces/ws/index.mjs',
      'lib/faces/websocket/index.mjs',
      'types/ws-entry.d.ts',
      'types/ws-entry.d.mts',
      'lib/core/binary-name.js',
      'scripts/install.js',
      'scripts/build.js',
      'Cargo.toml',
      'Cargo.lock',
      'build.rs',
      'src/lib.rs',
    ]) {
      expect(files).toContain(needed);
    }
    const unwanted = files.filter(
      (f) =>
        /^(target|node_modules|__test__|bench|examples|conformance|docs|\.ci)\//.test(f) ||
        /\.(tgz|tmp|log)$/.test(f) ||
        f === 'package-lock.json'
    );
    expect(unwanted).toEqual([]);
    // Engines sit at the package root, named as the loader looks for them (this platform's at least).
    expect(files.filter((f) => f.endsWith('.node') && !/^ferrows\.[a-z0-9_]+-[a-z0-9_]+(-[a-z]+)?\.node$/.test(f))).toEqual([]);
    // Engine (~1 MB, ~0.5 MB compressed) plus sources; target/ slipping in would be 100+ MB.
    expect(pack.size).toBeLessThan(2 * 1024 * 1024);
  });

  test('the install kept the prebuilt engine (no cargo build) and resolves inside the project', () => {
    const installed = path.join(project, 'node_modules', 'ferrows');
    expect(fs.existsSync(path.join(installed, 'target'))).toBe(false);
    // Byte for byte the engine in the tarball: the install script kept it rather than building one.
    const packed = spawnSync('tar', ['-xzOf', tarball, `package/${binaryName()}`], { timeout: 10000, maxBuffer: 64 * 1024 * 1024 });
    expect(packed.status).toBe(0);
    expect(sha256(path.join(installed, binaryName()))).toBe(crypto.createHash('sha256').update(packed.stdout).digest('hex'));
    const resolved = run(process.execPath, ['-p', "require.resolve('ferrows') + '\\n' + typeof require('ferrows').attach"], {
      cwd: project,
      timeout: 10000,
    }).stdout.trim();
    expect(resolved.split('\n')).toEqual([path.join(installed, 'index.js'), 'function']);
    const esm = run(process.execPath, ['--input-type=module', '-e', "import { attach } from 'ferrows'; console.log(typeof attach)"], {
      cwd: project,
      timeout: 10000,
    });
    expect(esm.stdout.trim()).toBe('function');
  }, 30000);

  test('a native-face (attach) server script echoes to a real client', async () => {
    const server = startScript(project, 'native-server.js');
    try {
      const port = await server.port;
      expect(await runClient(['echo-client.js', String(port)], { cwd: project })).toContain('client: closed 1000');
      await waitForOutput(server.output, `resolved ${path.join(project, 'node_modules', 'ferrows', 'index.js')}`);
    } finally {
      await server.stop();
    }
  }, 30000);

  // The websocket package's README example with only `require('websocket')` changed; and the
  // repository's copy of it (examples/websocket-compat/server.js) when there is one.
  const examples = [['the websocket README server example', null]];
  const repoExample = path.join(repo, 'examples', 'websocket-compat', 'server.js');
  if (fs.existsSync(repoExample)) examples.push(['examples/websocket-compat/server.js', repoExample]);

  test.each(examples)('%s runs on ferrows, only the require line changed', async (name, file) => {
    const hasFace = run(process.execPath, ['-p', "typeof require('ferrows').server"], { cwd: project, timeout: 10000 });
    if (hasFace.stdout.trim() !== 'function') {
      throw new Error("the websocket face is missing: require('ferrows').server is not a constructor");
    }
    const source = file ? fs.readFileSync(file, 'utf8') : documentedWebsocketExample();
    const script = `websocket-example-${examples.findIndex(([n]) => n === name)}.js`;
    const changed = requireFerrows(source.replace(/^#!.*\n/, ''), file || path.join(repo, 'README.md'));
    fs.writeFileSync(path.join(project, script), changed);
    const server = startScript(project, script);
    try {
      const port = await server.port;
      const client = await runClient(['echo-client.js', String(port), 'echo-protocol'], { cwd: project });
      expect(client).toContain('client: closed 1000');
      for (const line of ['Connection accepted.', 'Received Message: hello ferrows', 'Received Binary Message of 6 bytes']) {
        await waitForOutput(server.output, line);
      }
    } finally {
      await server.stop();
    }
  }, 30000);

  // TypeScript written against @types/ws and @types/websocket (DefinitelyTyped's server-side tests
  // and the packages' READMEs, in __test__/types/installed), with only the module name changed,
  // compiled against the installed package's own declarations as each module setting resolves them.
  test.each([
    ['node16 (CommonJS and ES module files)', ['--module', 'node16', '--moduleResolution', 'node16'], ['ws-require.ts', 'ws-import.mts', 'websocket.ts']],
    ['node10 with esModuleInterop', ['--module', 'commonjs', '--moduleResolution', 'node10', '--esModuleInterop'], ['ws-require.ts', 'websocket.ts']],
    ['bundler', ['--module', 'esnext', '--moduleResolution', 'bundler'], ['ws-import.mts']],
  ])("code typed for ws and websocket compiles against the package's types: %s", (_, settings, files) => {
    const sources = path.join(__dirname, 'types', 'installed');
    const dir = path.join(project, 'typed');
    fs.mkdirSync(dir, { recursive: true });
    for (const file of files) fs.copyFileSync(path.join(sources, file), path.join(dir, file));
    const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    // Node's types come from the repository: the project itself has no TypeScript installed.
    const types = ['--typeRoots', path.join(repo, 'node_modules', '@types'), '--types', 'node'];
    const checked = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', ...types, ...settings, ...files], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60000,
    });
    expect(`${checked.stdout}${checked.stderr}`).toBe('');
    expect(checked.status).toBe(0);
  }, 90000);

  test('a Jest test in the project starts ferrows, echoes, closes, and Jest exits by itself', () => {
    // No --forceExit: a handle that kept the process alive would hang the run into the timeout.
    const jest = run(process.execPath, ['node_modules/jest/bin/jest.js', '--ci', '--detectOpenHandles'], {
      cwd: project,
      timeout: 60000,
    });
    expect(jest.out).toMatch(/Tests:\s+1 passed, 1 total/);
    expect(jest.out).not.toMatch(/did not exit/);
    // Jest 29 lists napi-rs's own `CustomGC` threadsafe function, created when any napi-rs v3
    // addon loads and unref'd so it never holds the process (jestjs/jest#16378, fixed after 29).
    // Every other open handle fails the test.
    const handles = [...jest.out.matchAll(/^\s*●\s+(\S+)\s*$/gm)].map((m) => m[1]).filter((h) => h !== 'CustomGC');
    expect(handles).toEqual([]);
    console.log(`ferrows package: Jest in the fresh project finished on its own in ${(jest.ms / 1000).toFixed(1)} s`);
  }, 90000);
});
