'use strict';

// The harness of the compat-websocket-*.spec.js files: scenarios run against the real `websocket`
// package's server and against ferrows's, driven by the same client (the package's own client or
// `ws`), and what the application and the client observe must be equal. A spec that starts
// servers runs `afterEach(stopAll)`.

const http = require('http');
const https = require('https');
const WsClient = require('ws');
const websocket = require('websocket');
const ferrows = require('..');
const { once, until, TLS_OPTIONS, currentScheme } = require('./helpers');

const WAIT = 5000;
const IMPLS = { websocket, ferrows };

const stops = [];

/** Stops every server `start` made. */
async function stopAll() {
  for (const stop of stops.splice(0)) await stop();
}

/** Clients trust the test certificate when scenarios run over wss. */
const TRUST = { rejectUnauthorized: false };

/**
 * An http (or, over wss, https) server on a free loopback port with `impl`'s WebSocket server
 * mounted on it.
 */
async function start(impl, config = {}, setup) {
  const handler = (req, res) => {
    res.writeHead(404);
    res.end();
  };
  const secure = currentScheme() === 'wss';
  const httpServer = secure ? https.createServer(TLS_OPTIONS, handler) : http.createServer(handler);
  const wsServer = new impl.server({ httpServer, ...config });
  if (setup) setup(wsServer);
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address();
  const env = { impl, httpServer, wsServer, port, secure, url: `${currentScheme()}://127.0.0.1:${port}` };
  env.stop = async () => {
    wsServer.shutDown();
    await until(() => wsServer.connections.length === 0, WAIT, 'connections to close').catch(() => {
      for (const c of wsServer.connections.slice()) c.drop(1006, 'test over', true);
    });
    httpServer.closeAllConnections();
    await new Promise((resolve) => httpServer.close(resolve));
  };
  stops.push(env.stop);
  return env;
}

/** Runs `scenario(impl)` against both servers; resolves with { websocket, ferrows } results. */
async function both(scenario) {
  const results = {};
  for (const [name, impl] of Object.entries(IMPLS)) results[name] = await scenario(impl, name);
  return results;
}

/** Expects ferrows's observations to equal the package's (and returns them). */
async function same(scenario) {
  const results = await both(scenario);
  expect(results.ferrows).toEqual(results.websocket);
  return results.websocket;
}

/** A `ws` client that records messages as [text or Buffer, isBinary] and its close. */
function wsClient(url, protocols, options) {
  const ws = new WsClient(url, protocols, { ...TRUST, ...options });
  ws.got = [];
  ws.on('message', (data, isBinary) => ws.got.push([isBinary ? data : data.toString(), isBinary]));
  ws.on('error', (err) => (ws.failure = err.message));
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve([code, reason.toString()])));
  return ws;
}

async function wsOpen(url, protocols, options) {
  const ws = wsClient(url, protocols, options);
  ws.on('upgrade', (res) => (ws.response = res));
  // 'open' follows 'upgrade' in the same tick, so both are awaited from the start.
  await once(ws, 'open', WAIT);
  return ws;
}

/** The package's own client; resolves with its client-side connection once open. */
async function pkgConnect(url, protocols, origin, headers) {
  const client = new websocket.client({ tlsOptions: TRUST });
  // Listeners go on in the 'connect' handler itself: messages sent with the 101 follow at once.
  client.on('connect', (connection) => {
    connection.got = [];
    connection.on('message', (m) => connection.got.push(m));
    connection.closed = new Promise((resolve) => connection.on('close', (code, description) => resolve([code, description])));
  });
  const opened = once(client, 'connect', WAIT);
  client.connect(url, protocols, origin, headers);
  const [connection] = await opened;
  return connection;
}

/** The package's client against a refusing server: resolves with the connectFailed message. */
async function pkgFailure(url, protocols) {
  const client = new websocket.client({ tlsOptions: TRUST });
  const failed = once(client, 'connectFailed', WAIT);
  client.connect(url, protocols);
  const [err] = await failed;
  return err.message;
}

/** The status and headers (minus Date) a `ws` client gets when the upgrade is refused. */
async function wsRefusal(url, protocols, options) {
  const ws = new WsClient(url, protocols, { ...TRUST, ...options });
  ws.on('error', () => {});
  const [, res] = await once(ws, 'unexpected-response', WAIT);
  const headers = { ...res.headers };
  delete headers.date;
  ws.terminate();
  return { status: res.statusCode, statusMessage: res.statusMessage, headers };
}

/** The server's next connection's observable events, recorded in order. */
function record(connection) {
  const events = [];
  connection.on('message', (m) => events.push(['message', m]));
  connection.on('ping', (cancel, data) => events.push(['ping', typeof cancel, data.toString()]));
  connection.on('pong', (data) => events.push(['pong', data.toString()]));
  connection.on('close', (code, description) => events.push(['close', code, description]));
  connection.events = events;
  return connection;
}

/** Waits for `event` on the server and resolves with its first argument. */
async function next(emitter, event) {
  const [arg] = await once(emitter, event, WAIT);
  return arg;
}

function closedEvent(connection) {
  return until(() => connection.events.some((e) => e[0] === 'close'), WAIT, 'the close event');
}

module.exports = {
  WAIT,
  stopAll,
  start,
  both,
  same,
  wsClient,
  wsOpen,
  pkgConnect,
  pkgFailure,
  wsRefusal,
  record,
  next,
  closedEvent,
};
