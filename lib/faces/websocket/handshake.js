'use strict';

// The package's reading of an upgrade request (headers it parses, errors it raises) and the
// header lines it writes: rejections, Origin and Set-Cookie. Ported rule for rule so that status
// lines, headers and error messages match byte for byte.

const { STATUS_CODES } = require('http');
const { refuse } = require('../../core/http');
const { HTTP_STATUS_DESCRIPTIONS } = require('./constants');

const headerValueSplit = /,\s*/;
const headerParamSplit = /;\s*/;
const headerSanitize = /[\r\n]/g;
const cookieSeparator = /[;,] */;
const cookieNameInvalid = /([\x00-\x20\x22\x28\x29\x2c\x2f\x3a-\x3f\x40\x5b-\x5e\x7b\x7d\x7f])/;
const cookieValueInvalid = /[^\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]/;
const cookieValueQuoted = /^"[^"]*"$/;
const controlCharsAndSemicolon = /[\x00-\x20\x3b]/g;
const SEPARATORS = '()<>@,;:\\"/[]?={} \t';

/** An error that rejects the request with `httpCode` (400 unless set) and optional headers. */
function handshakeError(message, httpCode, headers) {
  const err = new Error(message);
  if (httpCode) err.httpCode = httpCode;
  if (headers) err.headers = headers;
  return err;
}

/** Parses `Sec-WebSocket-Extensions` into [{ name, params: [{ name, value }] }], lower-cased. */
function parseExtensions(header) {
  if (!header || header.length === 0) return [];
  return header
    .toLocaleLowerCase()
    .split(headerValueSplit)
    .map((extension) => {
      const [name, ...params] = extension.split(headerParamSplit);
      return {
        name,
        params: params.map((raw) => {
          const parts = raw.split('=');
          return { name: parts[0], value: parts[1] };
        }),
      };
    });
}

/** Parses a Cookie header into [{ name, value }] (value null without '='). */
function parseCookies(header) {
  if (!header || typeof header !== 'string') return [];
  return header.split(cookieSeparator).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq === -1) return { name: pair, value: null };
    const name = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    if (value[0] === '"') value = value.slice(1, -1);
    return { name, value: safeDecode(value) };
  });
}

/** The package lets a malformed %-escape throw out of the upgrade handler; a bad cookie must not. */
function safeDecode(value) {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Throws (a handshake error) when the subprotocol has a character RFC 2616 tokens forbid. */
function checkProtocolToken(protocol) {
  for (let i = 0; i < protocol.length; i++) {
    const code = protocol.charCodeAt(i);
    const character = protocol.charAt(i);
    if (code < 0x21 || code > 0x7e || SEPARATORS.includes(character)) {
      // String.fromCharCode of a character: the package's message, kept as it is.
      throw new Error('Illegal character "' + String.fromCharCode(character) + '" in subprotocol.');
    }
  }
}

/** The Set-Cookie value of one cookie; throws the package's error for an invalid one. */
function serializeCookie(cookie, seen) {
  if (!cookie || !cookie.name || !cookie.value) {
    throw new Error('Each cookie to set must at least provide a "name" and "value"');
  }
  // As the package does, the caller's cookie object is sanitized in place.
  cookie.name = String(cookie.name).replace(controlCharsAndSemicolon, '');
  cookie.value = String(cookie.value).replace(controlCharsAndSemicolon, '');
  if (seen[cookie.name]) throw new Error('You may not specify the same cookie name twice.');
  seen[cookie.name] = true;
  let invalid = cookie.name.match(cookieNameInvalid);
  if (invalid) throw new Error('Illegal character ' + invalid[0] + ' in cookie name');
  invalid = cookieValueQuoted.test(cookie.value)
    ? cookie.value.slice(1, -1).match(cookieValueInvalid)
    : cookie.value.match(cookieValueInvalid);
  if (invalid) throw new Error('Illegal character ' + invalid[0] + ' in cookie value');
  const parts = [cookie.name + '=' + cookie.value];
  if (cookie.path) {
    invalid = String(cookie.path).match(controlCharsAndSemicolon);
    if (invalid) throw new Error('Illegal character ' + invalid[0] + ' in cookie path');
    parts.push('Path=' + cookie.path);
  }
  if (cookie.domain) {
    if (typeof cookie.domain !== 'string') throw new Error('Domain must be specified and must be a string.');
    invalid = cookie.domain.match(controlCharsAndSemicolon);
    if (invalid) throw new Error('Illegal character ' + invalid[0] + ' in cookie domain');
    parts.push('Domain=' + cookie.domain.toLowerCase());
  }
  if (cookie.expires) {
    if (!(cookie.expires instanceof Date)) {
      throw new Error('Value supplied for cookie "expires" must be a vaild date object');
    }
    parts.push('Expires=' + cookie.expires.toUTCString());
  }
  if (cookie.maxage) {
    const maxage = typeof cookie.maxage === 'string' ? parseInt(cookie.maxage, 10) : cookie.maxage;
    if (isNaN(maxage) || maxage <= 0) throw new Error('Value supplied for cookie "maxage" must be a non-zero number');
    parts.push('Max-Age=' + Math.round(maxage).toString(10));
  }
  if (cookie.secure) {
    if (typeof cookie.secure !== 'boolean') throw new Error('Value supplied for cookie "secure" must be of type boolean');
    parts.push('Secure');
  }
  if (cookie.httponly) {
    if (typeof cookie.httponly !== 'boolean') {
      throw new Error('Value supplied for cookie "httponly" must be of type boolean');
    }
    parts.push('HttpOnly');
  }
  return parts.join(';');
}

/** Set-Cookie header lines for `cookies`; throws the package's error for any invalid cookie. */
function cookieLines(cookies) {
  if (!Array.isArray(cookies)) throw new Error('Value supplied for "cookies" argument must be an array.');
  const seen = {};
  return cookies.map((cookie) => 'Set-Cookie: ' + serializeCookie(cookie, seen));
}

function sanitize(value) {
  return String(value).replace(headerSanitize, '');
}

/**
 * Answers with the package's rejection (its status phrase, `Connection: close`, the reason header,
 * extra headers, no body) and closes the socket once it is written.
 */
function reject(socket, status, reason, extraHeaders) {
  const phrase = HTTP_STATUS_DESCRIPTIONS[status] || STATUS_CODES[status] || 'Unknown';
  const headers = [['Connection', 'close']];
  if (reason) headers.push(['X-WebSocket-Reject-Reason', sanitize(reason)]);
  if (extraHeaders) {
    for (const key in extraHeaders) {
      const value = extraHeaders[key];
      headers.push([sanitize(key), sanitize(value == null ? '' : value.toString())]);
    }
  }
  refuse(socket, status, phrase, headers);
}

module.exports = {
  headerValueSplit,
  sanitize,
  handshakeError,
  parseExtensions,
  parseCookies,
  checkProtocolToken,
  cookieLines,
  reject,
};
