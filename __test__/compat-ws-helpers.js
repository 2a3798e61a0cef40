'use strict';

// The harness of the compat-ws-*.spec.js files: every scenario runs against ws's own
// WebSocketServer and against ferrows's, with the same clients (ws's client and raw sockets), and
// what the application and the client observe must be equal. A spec runs `afterEach(cleanUp)`.

const http = require('http');
const https = require('https');
const WS = require('ws');
const ferrows = require('..');
const { once, rawClient, readResponse, socketClosed, TLS_OPTIONS } = require('./helpers');

const IMPLEMENTATIONS = [
  ['ws', WS.WebSocketServer],
  ['ferrows', ferrows.WebSocketServer],
];

/** Runs `scenario(Server, name)` against ws, then ferrows; their results must be equal. */
async function differential(scenario) {
  const results = {};
  for (const [name, Server] of IMPLEMENTATIONS) {
    results[name] = await scenario(Server, name);
    await cleanUp();
  }
  expect(results.ferrows).toEqual(results.ws);
  return results.ws;
}

let cleanups = [];

/** Registers `fn` to run (newest first) after the scenario. */
function defer(fn) {
  cleanups.push(fn);
}

async function cleanUp() {
  const fns = cleanups.reverse();
  cleanups = [];
  for (const fn of fns) {
    try {
      await fn();
    } catch {
      // Cleanup of something already gone.
    }
  }
}

function closeHttp(server) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 3000);
    if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** An http(s) server on a loopback port with `Server` attached through `{ server }`. */
async function start(Server, options = {}, { secure = false } = {}) {
  const handler = (req, res) => res.end('plain http');
  const httpServer = secure ? https.createServer(TLS_OPTIONS, handler) : http.createServer(handler);
  const wss = new Server({ server: httpServer, ...options });
  wss.on('connection', (ws) => defer(() => ws.terminate()));
  defer(() => closeHttp(httpServer));
  defer(() => wss.close());
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address();
  return { httpServer, wss, port, secure, url: `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}` };
}

/** A ws client connected to `env`, with the server side of the connection. */
async function pair(env, { path: urlPath = '/', protocols, options } = {}) {
  const connection = once(env.wss, 'connection');
  const client = new WS(env.url + urlPath, protocols, { rejectUnauthorized: false, ...options });
  defer(() => client.terminate());
  client.on('error', () => {});
  await once(client, 'open');
  const [ws, req] = await connection;
  return { client, ws, req };
}

/** A raw socket to `env` that sends `request`; resolves once the server has closed it. */
async function rawRefusal(env, request) {
  const socket = rawClient(env);
  defer(() => socket.destroy());
  socket.write(request);
  await socketClosed(socket);
  return socket.received.toString();
}

/** A raw socket to `env` that sends `request`; resolves with the response head and the socket. */
async function rawUpgrade(env, request) {
  const socket = rawClient(env);
  defer(() => socket.destroy());
  socket.write(request);
  const { head, status } = await readResponse(socket);
  return { head, status, socket };
}

/** What a message payload is, as an application would check it. */
function describeData(data) {
  if (Buffer.isBuffer(data)) return ['Buffer', data.toString('hex')];
  if (data instanceof ArrayBuffer) return ['ArrayBuffer', Buffer.from(data).toString('hex')];
  if (Array.isArray(data)) return ['Array', data.map(describeData)];
  if (typeof Blob !== 'undefined' && data instanceof Blob) return ['Blob', data.size];
  return [typeof data, String(data)];
}

function describeError(err) {
  return err ? [err.constructor.name, err.code, err.message] : err;
}

/** Records every message of `emitter` as [data, isBinary]. */
function recordMessages(emitter) {
  const log = [];
  emitter.on('message', (data, isBinary) => log.push([describeData(data), isBinary]));
  return log;
}

/** Calls `fn(...)` and returns what it threw, described. */
function thrown(fn) {
  try {
    fn();
    return null;
  } catch (err) {
    return describeError(err);
  }
}

module.exports = {
  differential,
  defer,
  cleanUp,
  closeHttp,
  start,
  pair,
  rawRefusal,
  rawUpgrade,
  describeData,
  describeError,
  recordMessages,
  thrown,
};
