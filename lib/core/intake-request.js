'use strict';

// The `req` of a connection the Rust-first intake took: what an IncomingMessage tells about an
// upgrade request (method, url, httpVersion, headers, rawHeaders, socket addresses), parsed from
// the request's bytes only when read, so that connections whose handlers never look cost nothing.

const http = require('http');
const net = require('net');

/** Headers Node keeps only the first of (net/http's "discardable duplicates"). */
const SINGLE = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
  'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
]);

class IntakeRequest {
  /**
   * @param {Buffer} first the bytes the request came in (the request first)
   * @param {object} [socket] the remote and local addresses, as `req.socket` shows them
   */
  constructor(first, socket) {
    this._first = first;
    this._lines = null;
    this._headers = null;
    this.socket = socket;
    this.connection = socket;
    this.method = 'GET';
    this.httpVersion = '1.1';
    this.httpVersionMajor = 1;
    this.httpVersionMinor = 1;
  }

  _parse() {
    if (this._lines === null) {
      // The faces make one only for a complete request head (`plainUpgrade`); were the blank
      // line missing, every byte would be read as the head rather than throw.
      const end = this._first.indexOf('\r\n\r\n');
      this._lines = this._first.latin1Slice(0, end === -1 ? this._first.length : end).split('\r\n');
    }
    return this._lines;
  }

  get url() {
    const line = this._parse()[0];
    return line.slice(4, line.lastIndexOf(' '));
  }

  /** Names and values in the order received, as Node's `rawHeaders`. */
  get rawHeaders() {
    const raw = [];
    for (const line of this._parse().slice(1)) {
      const colon = line.indexOf(':');
      raw.push(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    return raw;
  }

  /** Lower-cased names; repeated headers joined as Node joins them (cookies with '; '). */
  get headers() {
    if (this._headers !== null) return this._headers;
    const headers = {};
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      const value = raw[i + 1];
      if (!(name in headers)) headers[name] = value;
      else if (name === 'cookie') headers[name] += `; ${value}`;
      else if (!SINGLE.has(name)) headers[name] += `, ${value}`;
    }
    this._headers = headers;
    return headers;
  }
}

/**
 * A `net.Socket` with no connection behind it that shows `addresses`, as a socket Node handed
 * over does (the connection belongs to the engine).
 */
function addressSocket(addresses) {
  const socket = new net.Socket();
  for (const [name, value] of Object.entries(addresses)) {
    Object.defineProperty(socket, name, { value, configurable: true });
  }
  return socket;
}

/**
 * `light` (an IntakeRequest) as an `http.IncomingMessage`, for a face whose `req` must be one:
 * method, url, version and headers from the request's bytes. Its `socket` is `makeSocket()`,
 * made when first read.
 */
function incomingMessage(light, makeSocket) {
  const req = new http.IncomingMessage(undefined);
  let socket = null;
  Object.defineProperty(req, 'socket', {
    configurable: true,
    enumerable: true,
    get() {
      if (socket === null) socket = makeSocket();
      return socket;
    },
    set(value) {
      socket = value;
    },
  });
  const raw = light.rawHeaders;
  req._addHeaderLines(raw, raw.length);
  req.method = light.method;
  req.url = light.url;
  req.httpVersion = light.httpVersion;
  req.httpVersionMajor = light.httpVersionMajor;
  req.httpVersionMinor = light.httpVersionMinor;
  req.upgrade = true;
  // Node's parser has read the whole request (an upgrade has no body) when it hands it over.
  req.complete = true;
  return req;
}

module.exports = { IntakeRequest, incomingMessage, addressSocket };
