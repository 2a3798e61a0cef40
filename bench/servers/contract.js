'use strict';

// The contract every bench server follows, so bench/run.js can drive them all alike:
//   env PORT (required), MODE=echo|broadcast|rooms (default echo), DEFLATE=1 for
//   permessage-deflate (default 0: off); listen on 127.0.0.1 only; print `ready` on stdout once
//   listening; exit on SIGTERM/SIGINT at once.
// A server whose implementation is not available prints `unavailable: <why>` and exits 3, so
// the runner can report the row as missing instead of failing the whole run.

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`PORT must be a TCP port, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}

// echo: back to the sender. broadcast: to every client. rooms: to every client that connected
// to the same path as the sender (`/rooms/7`), sender included.
const MODES = ['echo', 'broadcast', 'rooms'];
const mode = process.env.MODE || 'echo';
if (!MODES.includes(mode)) {
  console.error(`MODE must be one of ${MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  process.exit(2);
}

// permessage-deflate on every message, however small (threshold 0), each implementation with
// its own defaults otherwise. A server that cannot compress says `unavailable`.
const DEFLATE = process.env.DEFLATE || '0';
if (DEFLATE !== '0' && DEFLATE !== '1') {
  console.error(`DEFLATE must be 0 or 1, got ${JSON.stringify(DEFLATE)}`);
  process.exit(2);
}
const deflate = DEFLATE === '1';

const HOST = '127.0.0.1';

// A benchmark server holds nothing worth a graceful shutdown; exiting at once keeps the runner's
// schedule predictable.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));

function ready() {
  process.stdout.write('ready\n');
}

function unavailable(why) {
  process.stdout.write(`unavailable: ${why}\n`);
  process.exit(3);
}

// Listens an http.Server on the contract's address and announces it.
function listen(httpServer) {
  httpServer.listen(port, HOST, ready);
}

module.exports = { port, mode, deflate, HOST, ready, unavailable, listen };
