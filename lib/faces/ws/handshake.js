'use strict';

// The HTTP side of ws's opening handshake, answered the way ws 8 answers it (same checks, order,
// statuses, bodies and headers), so that clients and proxies see no difference.

const { STATUS_CODES } = require('http');
const { refuse } = require('../../core/http');

const KEY = /^[+/0-9A-Za-z]{22}==$/;
const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const FIRST = new RegExp(`^(${TOKEN})[ \\t]*$`);
const MIDDLE = new RegExp(`^[ \\t]*(${TOKEN})[ \\t]*$`);
const LAST = new RegExp(`^[ \\t]*(${TOKEN})$`);
const ONLY = new RegExp(`^(${TOKEN})$`);

/**
 * Checks an upgrade request as ws does before path matching. Returns null when it may proceed,
 * or `{ status, message, headers }`.
 */
function check(req) {
  if (req.method !== 'GET') return { status: 405, message: 'Invalid HTTP method' };
  const upgrade = req.headers.upgrade;
  if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
    return { status: 400, message: 'Invalid Upgrade header' };
  }
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key)) {
    return { status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' };
  }
  const version = +req.headers['sec-websocket-version'];
  if (version !== 13 && version !== 8) {
    return {
      status: 400,
      message: 'Missing or invalid Sec-WebSocket-Version header',
      headers: { 'Sec-WebSocket-Version': '13, 8' },
    };
  }
  return null;
}

/**
 * Parses `Sec-WebSocket-Protocol` with ws's grammar (tokens separated by commas, blanks allowed
 * around commas only); undefined when malformed or duplicated.
 */
function parseProtocols(header) {
  const protocols = new Set();
  if (header === undefined) return protocols;
  const parts = header.split(',');
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    const grammar = i === 0 ? (last ? ONLY : FIRST) : last ? LAST : MIDDLE;
    const match = grammar.exec(parts[i]);
    if (match === null || protocols.has(match[1])) return undefined;
    protocols.add(match[1]);
  }
  return protocols;
}

/** Answers with an HTTP error exactly as ws's `abortHandshake` does, then closes the socket. */
function abortHandshake(socket, status, message, headers) {
  const body = message || STATUS_CODES[status];
  const all = {
    Connection: 'close',
    'Content-Type': 'text/html',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  };
  refuse(socket, status, STATUS_CODES[status], Object.entries(all), body);
}

/** Extra 101 header lines must not break the response apart. */
function isSafeHeaderLine(line) {
  return typeof line === 'string' && line.includes(':') && !/[\r\n]/.test(line);
}

module.exports = { check, parseProtocols, abortHandshake, isSafeHeaderLine };
