'use strict';

// What the faces accept as message data, viewed as the engine takes it (a string or a Buffer),
// without copying.

const { argTypeError } = require('./errors');

/** Views any binary payload as a Buffer without copying; null when `data` is not binary. */
function toBuffer(data) {
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) return Buffer.from(data);
  return null;
}

/** A message for the engine: [string, false] for text, [Buffer, true] for binary. */
function toPayload(data) {
  if (typeof data === 'string') return [data, false];
  const buf = toBuffer(data);
  if (buf === null) throw argTypeError('data', 'a string, Buffer, TypedArray, DataView or ArrayBuffer', data);
  return [buf, true];
}

module.exports = { toBuffer, toPayload };
