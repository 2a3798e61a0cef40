'use strict';

// The HTTP side of the opening handshake, before the socket goes to Rust: RFC 6455 request
// checks, ferrows's own HTTP rejections (written by Node, which still owns the socket), and the
// handoff of the socket itself.

const { STATUS_CODES } = require('http');
const native = require('./native');
const { refuse } = require('./http');
const { detach } = require('./node-side');

/**
 * Answers an upgrade request with an HTTP error (a plain-text body) and closes the socket. Extra
 * headers are an object of name → value (or an array of values).
 */
function reject(socket, status, message = STATUS_CODES[status] || '', headers = {}) {
  const body = Buffer.from(String(message));
  const lines = [
    ['Connection', 'close'],
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', body.length],
  ];
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push([name, v]);
  }
  refuse(socket, status, STATUS_CODES[status] || 'Error', lines, body);
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses `Sec-WebSocket-Protocol` into a Set of tokens, in the client's order; undefined when
 * the header is malformed.
 */
function parseProtocols(header) {
  const protocols = new Set();
  if (header === undefined) return protocols;
  for (const part of header.split(',')) {
    const token = part.trim();
    if (!TOKEN.test(token) || protocols.has(token)) return undefined;
    protocols.add(token);
  }
  return protocols;
}

/**
 * Checks an upgrade request against RFC 6455 §4.2.1. Returns null when it may proceed, or
 * `{ status, message, headers }` for the HTTP answer.
 */
function check(req) {
  if (req.method !== 'GET') return { status: 405, message: 'Invalid HTTP method', headers: { Allow: 'GET' } };
  const upgrade = req.headers.upgrade;
  if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
    return { status: 400, message: 'Invalid Upgrade header' };
  }
  const status = native.handshakeStatus(req.headers['sec-websocket-key'], req.headers['sec-websocket-version']);
  if (status === 426) {
    return { status, message: 'Unsupported WebSocket version', headers: { 'Sec-WebSocket-Version': '13' } };
  }
  if (status !== 0) return { status, message: 'Missing or invalid Sec-WebSocket-Key header' };
  return null;
}

/**
 * Moves an upgraded socket into the engine: stops Node reading it, gathers every byte Node has
 * read past the request, lets Rust duplicate the descriptor and write the 101 (`answer`: the
 * key, protocol, extra header lines and the client's extension offers), then closes
 * Node's copy (a plain close of a duplicate: the peer sees nothing) and keeps the socket open
 * without it (core/node-side.js).
 * Returns `{ accepted }` with the engine's answer (see core/connection.js), or
 * `{ accepted: null, head }` when the socket stays
 * Node's (not a plain TCP or Unix stream with a descriptor, or the engine could not adopt it: out
 * of descriptors, say); `head` then holds every byte read past the request, and Node reads the
 * socket again, for the caller to bridge it.
 */
function handOff(engine, socket, head, answer) {
  const handle = socket._handle;
  // A TLS socket's handle reports the TCP descriptor underneath the encryption: never move it.
  if (socket.encrypted || !handle || typeof handle.fd !== 'number' || handle.fd < 0) return { accepted: null, head };
  if (typeof handle.readStop !== 'function') return { accepted: null, head };
  handle.readStop();
  let pending = head;
  if (socket.readableLength > 0) {
    const buffered = socket.read();
    if (buffered) pending = Buffer.concat([head, buffered]);
  }
  let accepted;
  try {
    accepted = engine.accept(handle.fd, pending, answer);
  } catch {
    // net.Socket still believes its handle reads: start it again, as it was.
    handle.readStart();
    return { accepted: null, head: pending };
  }
  detach(socket);
  return { accepted };
}

module.exports = { reject, check, parseProtocols, handOff };
