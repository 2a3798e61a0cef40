'use strict';

// The one writer of HTTP error answers to upgrade requests. Each face passes its own peer's
// status phrase, header lines (in its peer's order) and body, so the bytes on the wire match the
// package it replaces.

/**
 * Writes `HTTP/1.1 <status> <phrase>`, the `[name, value]` header pairs and `body`, then closes
 * the socket once it is written. A client already gone is no error: its socket is destroyed.
 */
function refuse(socket, status, phrase, headers, body = '') {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  let head = `HTTP/1.1 ${status} ${phrase}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), Buffer.from(body)]));
}

module.exports = { refuse };
