'use strict';

// Shared test plumbing: servers on 127.0.0.1, clients, raw sockets, and bounded waits.

const fs = require('fs');
const path = require('path');
const http = require('http');
const https = require('https');
const net = require('net');
const tls = require('tls');
const crypto = require('crypto');
const WsClient = require('ws');
const { attach } = require('..');

/** Resolves with the arguments of the next `event`, or rejects after `ms`. */
function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, onEvent);
      reject(new Error(`timed out after ${ms} ms waiting for '${event}'`));
    }, ms);
    function onEvent(...args) {
      clearTimeout(timer);
      resolve(args);
    }
    emitter.once(event, onEvent);
  });
}

/** Resolves once `predicate()` is true, polling; rejects after `ms`. */
async function until(predicate, ms = 5000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Both schemes the shared scenarios run over: plain TCP (fd handoff) and TLS (byte bridge). */
const SCHEMES = ['ws', 'wss'];
let scheme = 'ws';

/** Sets the scheme of the servers and clients made from now on (per describe block). */
function useScheme(s) {
  scheme = s;
}

/** The scheme set by `useScheme`. */
function currentScheme() {
  return scheme;
}

const TLS_OPTIONS = {
  key: fs.readFileSync(path.join(__dirname, 'fixtures', 'key.pem')),
  cert: fs.readFileSync(path.join(__dirname, 'fixtures', 'cert.pem')),
};

/** An http (or, under 'wss', https) server on a free loopback port with ferrows attached. */
async function startServer(options, setup) {
  const handler = (req, res) => res.end('plain http');
  const secure = scheme === 'wss';
  const httpServer = secure ? https.createServer(TLS_OPTIONS, handler) : http.createServer(handler);
  if (setup) setup(httpServer);
  const wss = attach(httpServer, options);
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address();
  const stop = async () => {
    await wss.close();
    await new Promise((resolve) => httpServer.close(resolve));
  };
  return { httpServer, wss, port, secure, url: `${scheme}://127.0.0.1:${port}`, stop };
}

/** A `ws` client that trusts the test certificate. */
function newClient(url, protocols, options) {
  return new WsClient(url, protocols, { rejectUnauthorized: false, ...options });
}

/** A `ws` client, resolved once open. */
async function connect(url, protocols, options) {
  const client = newClient(url, protocols, options);
  await once(client, 'open');
  return client;
}

/** Resolves with [code, reasonString] of a `ws` client's close. */
async function closed(client, ms) {
  const [code, reason] = await once(client, 'close', ms);
  return [code, reason.toString()];
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function upgradeRequest(path = '/', headers = {}) {
  const all = {
    Host: 'localhost',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * A raw client (TCP, or TLS for a secure server) that collects everything it receives;
 * `allowHalfOpen` keeps its side open when the server ends its own.
 */
function rawClient(env, { allowHalfOpen = false } = {}) {
  const options = { port: env.port, host: '127.0.0.1', allowHalfOpen };
  const socket = env.secure ? tls.connect({ ...options, rejectUnauthorized: false }) : net.connect(options);
  socket.received = Buffer.alloc(0);
  socket.on('data', (d) => {
    socket.received = Buffer.concat([socket.received, d]);
    socket.emit('received');
  });
  socket.on('error', () => {});
  return socket;
}

/** Opens a raw upgraded socket and returns it with the server-side socket, whose 'close' must come within `closeWithin` ms. */
async function rawPair(env, { closeWithin = 5000 } = {}) {
  const raw = rawClient(env);
  const conn = once(env.wss, 'connection');
  raw.write(upgradeRequest('/'));
  await readResponse(raw);
  const [ws] = await conn;
  const errors = [];
  ws.on('error', (err) => errors.push(err));
  return { raw, ws, errors, closeEvent: once(ws, 'close', closeWithin) };
}

/** Waits until `socket` has received a full HTTP response head; returns it and the rest. */
async function readResponse(socket, ms = 5000) {
  await until(() => socket.received.includes('\r\n\r\n'), ms, 'an HTTP response');
  const end = socket.received.indexOf('\r\n\r\n') + 4;
  const head = socket.received.subarray(0, end).toString('latin1');
  const status = Number(head.split(' ')[1]);
  return { head, status, rest: socket.received.subarray(end) };
}

/** A client frame, masked unless `mask` is false. */
function frame(opcode, payload, { fin = true, mask = true, rsv = 0 } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = data.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, data]);
  const key = crypto.randomBytes(4);
  key.copy(head, 2 + ext);
  const masked = Buffer.from(data);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([head, masked]);
}

/** Parses the server frames in `buf` (unmasked): [{ opcode, fin, rsv1, payload }]. */
function parseFrames(buf) {
  const frames = [];
  let at = 0;
  while (at + 2 <= buf.length) {
    let len = buf[at + 1] & 0x7f;
    let off = at + 2;
    if (len === 126) {
      len = buf.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      len = Number(buf.readBigUInt64BE(off));
      off += 8;
    }
    if (off + len > buf.length) break;
    frames.push({ opcode: buf[at] & 0x0f, fin: (buf[at] & 0x80) !== 0, rsv1: (buf[at] & 0x40) !== 0, payload: buf.subarray(off, off + len) });
    at = off + len;
  }
  return frames;
}

/** The close frame a raw client received, as { code, reason }, once it arrives. */
async function closeFrame(socket, ms = 5000) {
  let found;
  await until(
    () => {
      const { rest } = parseResponseRest(socket);
      found = parseFrames(rest).find((f) => f.opcode === 8);
      return found !== undefined;
    },
    ms,
    'a close frame'
  );
  return { code: found.payload.length >= 2 ? found.payload.readUInt16BE(0) : 1005, reason: found.payload.subarray(2).toString() };
}

function parseResponseRest(socket) {
  const end = socket.received.indexOf('\r\n\r\n');
  return { rest: end === -1 ? Buffer.alloc(0) : socket.received.subarray(end + 4) };
}

/** Resolves when a raw socket is closed by the server. */
function socketClosed(socket, ms = 5000) {
  if (socket.closed) return Promise.resolve();
  return once(socket, 'close', ms);
}

module.exports = {
  rawPair,
  SCHEMES,
  TLS_OPTIONS,
  useScheme,
  currentScheme,
  newClient,
  once,
  until,
  startServer,
  connect,
  closed,
  upgradeRequest,
  rawClient,
  readResponse,
  frame,
  parseFrames,
  closeFrame,
  socketClosed,
  KEY,
};
