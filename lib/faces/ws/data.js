'use strict';

// ws's rules for a socket's data, apart from the connection state they act on: what send(), ping()
// and close() accept and how it becomes bytes, and what binaryType makes of a binary message.

const { toBuffer } = require('../../core/payload');

const EMPTY = Buffer.alloc(0);
// send()'s options when none are given (most calls), shared rather than built per message.
const WHOLE_TEXT = Object.freeze({ binary: false, fin: true });
const WHOLE_BINARY = Object.freeze({ binary: true, fin: true });
const BINARY_TYPES = ['nodebuffer', 'arraybuffer', 'fragments'];
if (typeof Blob !== 'undefined') BINARY_TYPES.push('blob');

/** send()'s options with ws's defaults filled in: strings go as text, anything else as binary. */
function sendOptions(data, options) {
  if (options === undefined) return typeof data === 'string' ? WHOLE_TEXT : WHOLE_BINARY;
  return { binary: typeof data !== 'string', fin: true, ...options };
}

function isBlob(value) {
  return (
    typeof Blob !== 'undefined' &&
    typeof value === 'object' &&
    value !== null &&
    typeof value.arrayBuffer === 'function' &&
    typeof value.type === 'string' &&
    typeof value.stream === 'function' &&
    (value[Symbol.toStringTag] === 'Blob' || value[Symbol.toStringTag] === 'File')
  );
}

/** ws's conversion of anything sendable to bytes (strings as UTF-8; arrays via Buffer.from). */
function bytesOf(data) {
  if (typeof data === 'string') return Buffer.from(data);
  return toBuffer(data) || Buffer.from(data);
}

function isValidStatusCode(code) {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** Validates close arguments as ws's sender does; returns the reason as a string. */
function closeReason(code, data) {
  if (code === undefined) return undefined;
  if (typeof code !== 'number' || !isValidStatusCode(code)) {
    throw new TypeError('First argument must be a valid error code number');
  }
  if (data === undefined || !data.length) return '';
  if (Buffer.byteLength(data) > 123) throw new RangeError('The message must not be greater than 123 bytes');
  if (typeof data === 'string') return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString();
  throw new TypeError('Second argument must be a string or a Uint8Array');
}

function toArrayBuffer(buf) {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf.buffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

/** A binary message as `binaryType` delivers it; 'nodebuffer' keeps the Buffer. */
function asBinaryType(data, binaryType) {
  if (binaryType === 'arraybuffer') return toArrayBuffer(data);
  if (binaryType === 'fragments') return [data];
  if (binaryType === 'blob') return new Blob([data]);
  return data;
}

module.exports = { EMPTY, BINARY_TYPES, sendOptions, isBlob, bytesOf, closeReason, asBinaryType };
