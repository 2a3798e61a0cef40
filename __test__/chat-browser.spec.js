'use strict';

// The chat demo (`npm start`) in a real browser: Debian's Chromium driven by playwright-core,
// two tabs talking through ferrows. Never downloads a browser; skips loudly when none is found.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const ROOT = path.join(__dirname, '..');
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const WAIT = 10000;

/** The first chromium executable on the PATH, then /usr/bin/chromium; null when none. */
function findChromium() {
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  const candidates = [];
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of dirs) candidates.push(path.join(dir, name));
  }
  candidates.push('/usr/bin/chromium');
  for (const file of candidates) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not there; try the next
    }
  }
  return null;
}

/** Starts the demo on a free port; resolves with { child, url } once it printed its URL. */
function startDemo() {
  const child = spawn(process.execPath, [path.join(ROOT, 'examples/chat/server.js')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`the demo printed no URL within ${WAIT} ms:\n${output}`)), WAIT);
    function fail(err) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    }
    child.stdout.on('data', (d) => {
      output += d;
      const match = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[0], output: () => output });
      }
    });
    child.once('exit', (code, signal) => fail(new Error(`the demo exited early (${code ?? signal}):\n${output}`)));
  });
}

/** Sends SIGTERM and resolves with the exit code; SIGKILLs (and rejects) after `ms`. */
function stopDemo(child, ms = WAIT) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the demo did not exit within ${ms} ms of SIGTERM`));
    }, ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
    child.kill('SIGTERM');
  });
}

/** Waits until some element matching `selector` has exactly `text` as its text. */
function waitForText(page, selector, text) {
  return page.waitForFunction(
    ([sel, want]) => [...document.querySelectorAll(sel)].some((n) => n.textContent === want),
    [selector, text],
    { timeout: WAIT, polling: 50 }
  );
}

/** Waits until the number shown in stat `id` satisfies `op` against `value`. */
function waitForStat(page, id, op, value) {
  return page.waitForFunction(
    ([statId, cmp, want]) => {
      const n = Number(document.getElementById(statId).textContent);
      return cmp === '>=' ? n >= want : n === want;
    },
    [id, op, value],
    { timeout: WAIT, polling: 50 }
  );
}

async function join(page, name) {
  await page.fill('#name', name);
  await page.click('#join');
  await waitForText(page, '#you', name);
}

function texts(page, selector) {
  return page.locator(selector).allTextContents();
}

const executablePath = findChromium();
if (executablePath === null) {
  console.warn(
    'chat-browser.spec.js SKIPPED: no Chromium found (looked for chromium and chromium-browser on the PATH ' +
      'and /usr/bin/chromium). Install it with: apt-get install chromium'
  );
}
const describeBrowser = executablePath === null ? describe.skip : describe;

describeBrowser('chat demo in headless Chromium', () => {
  jest.setTimeout(60000);
  let demo;
  let context;
  let userDataDir;

  beforeAll(async () => {
    const { chromium } = require('playwright-core');
    demo = await startDemo();
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrows-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30000,
    });
  });

  afterAll(async () => {
    if (context) await context.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    if (demo) await stopDemo(demo.child).catch(() => {});
  });

  it('two tabs chat, see presence and live stats; closing one shows the leave', async () => {
    const errors = [];
    const a = await context.newPage();
    const b = await context.newPage();
    for (const page of [a, b]) page.on('pageerror', (err) => errors.push(err.message));

    await a.goto(demo.url);
    await b.goto(demo.url);
    expect(await a.title()).toBe('ferrows chat');
    // Stats arrive over broadcast even before joining.
    await waitForStat(a, 'stat-connections', '==', 2);

    await join(a, 'Ada');
    await join(b, 'Grace <b>Hopper</b>');

    // A sees B arrive; both see the same room.
    await waitForText(a, '#messages .system.join', 'Grace <b>Hopper</b> joined');
    await waitForText(a, '#online-count', '2');
    expect(await texts(a, '#users li')).toEqual(['Ada', 'Grace <b>Hopper</b>']);
    expect(await texts(b, '#users li')).toEqual(['Ada', 'Grace <b>Hopper</b>']);

    // messages/s is a one-second window: start watching before the message goes out.
    const rateSeen = waitForStat(b, 'stat-rate', '>=', 1);
    const fanoutSeen = waitForStat(b, 'stat-fanout', '>=', 2); // one message, two subscribers
    await a.fill('#message', 'Hello <i>Grace</i> & all');
    await a.click('#send');
    await waitForText(b, '#messages .msg .text', 'Hello <i>Grace</i> & all');
    expect(await texts(b, '#messages .msg .from')).toEqual(['Ada']);
    // Markup typed by users stays text.
    expect(await b.locator('#messages i, #messages b, #users b').count()).toBe(0);
    // The sender sees its own message once, as the server relayed it.
    await waitForText(a, '#messages .msg.mine .text', 'Hello <i>Grace</i> & all');
    expect(await a.inputValue('#message')).toBe('');
    await Promise.all([rateSeen, fanoutSeen]);

    await waitForStat(a, 'stat-online', '==', 2);
    await waitForStat(a, 'stat-total', '>=', 3); // two joins and a chat message

    await b.close();
    await waitForText(a, '#messages .system.leave', 'Grace <b>Hopper</b> left');
    await waitForText(a, '#online-count', '1');
    expect(await texts(a, '#users li')).toEqual(['Ada']);
    await waitForStat(a, 'stat-connections', '==', 1);
    await waitForStat(a, 'stat-online', '==', 1);

    expect(errors).toEqual([]);
    await a.close();
  });

  it('refuses a taken name, an over-long name and an over-long message', async () => {
    const a = await context.newPage();
    const b = await context.newPage();
    await a.goto(demo.url);
    await b.goto(demo.url);
    await join(a, 'Linus');

    await b.fill('#name', 'linus');
    await b.click('#join');
    await waitForText(b, '#join-error', '"linus" is already in the room.');
    expect(await b.isVisible('#room')).toBe(false);

    // The input's maxlength is a convenience; the server checks on its own.
    await b.evaluate(() => document.getElementById('name').removeAttribute('maxlength'));
    await b.fill('#name', 'x'.repeat(25));
    await b.click('#join');
    await waitForText(b, '#join-error', 'Names are at most 24 characters.');

    await join(b, 'Ken');
    await waitForText(a, '#messages .system.join', 'Ken joined');

    const shown = await a.locator('#messages .msg').count(); // the history of the first test
    await b.evaluate(() => document.getElementById('message').removeAttribute('maxlength'));
    await b.fill('#message', 'y'.repeat(501));
    await b.click('#send');
    await waitForText(b, '#send-error', 'Messages are at most 500 characters.');
    expect(await a.locator('#messages .msg').count()).toBe(shown);
    await b.close();
    await a.close();
  });

  it('negotiates permessage-deflate with Chromium and carries compressed messages', async () => {
    const a = await context.newPage();
    const b = await context.newPage();
    await a.goto(demo.url);
    await b.goto(demo.url);
    const extensions = await a.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const probe = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws');
          probe.onopen = () => {
            resolve(probe.extensions);
            probe.close();
          };
          probe.onerror = reject;
        })
    );
    expect(extensions).toMatch(/^permessage-deflate/);
    await join(a, 'Edsger');
    await join(b, 'Tony');
    const long = 'compress me please, '.repeat(24).trim(); // 479 characters, above the demo's threshold
    await a.fill('#message', long);
    await a.click('#send');
    await waitForText(b, '#messages .msg .text', long);
    await b.close();
    await a.close();
  });

  it('stops cleanly on SIGTERM, and an open tab says so', async () => {
    const page = await context.newPage();
    await page.goto(demo.url);
    await join(page, 'Margaret');
    const code = await stopDemo(demo.child);
    expect(code).toBe(0);
    expect(demo.output()).toMatch(/chat: SIGTERM, closing connections\nchat: stopped/);
    // Closed with 1001 (Going Away) by wss.close().
    await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('server went away'), null, {
      timeout: WAIT,
      polling: 50,
    });
    await page.close();
  });
});
