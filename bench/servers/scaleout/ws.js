'use strict';

// The floor: `ws` and a hand-written Redis fan-out, the least a scale-out can do. Every node
// PUBLISHes every message to one channel and SUBSCRIBEs to it; a message goes to the sender's
// local room at once, and a node delivers what Redis hands it to its own clients of the room the
// envelope names, dropping its own messages. So every node receives every message, whatever
// rooms it has clients in.
//
// Envelope (binary-safe, the payload is never copied into a string): node id (16 hex chars),
// type ('t' or 'b'), room, '\n', payload.

const crypto = require('crypto');
const http = require('http');
const { WebSocketServer } = require('ws');
const { createClient } = require('redis');
const { listen } = require('../contract');
const { redisUrl, redisPrefix } = require('./redis-env');
const { join } = require('../apps/rooms');

const NODE_ID = crypto.randomBytes(8).toString('hex');
const ID_LENGTH = NODE_ID.length;
const CHANNEL = `${redisPrefix}:all`;
const rooms = new Map();

function deliver(members, data, isBinary) {
  for (const client of members) {
    if (client.readyState === 1) client.send(data, { binary: isBinary });
  }
}

function fromRedis(envelope) {
  if (envelope.toString('latin1', 0, ID_LENGTH) === NODE_ID) return;
  const newline = envelope.indexOf(10, ID_LENGTH + 1);
  if (newline === -1) return;
  const members = rooms.get(envelope.toString('utf8', ID_LENGTH + 1, newline));
  if (members) deliver(members, envelope.subarray(newline + 1), envelope[ID_LENGTH] === 0x62);
}

async function main() {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) client.on('error', (err) => console.error(`redis: ${err.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  await sub.subscribe(CHANNEL, fromRedis, true); // true: the message as a Buffer

  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    ws.on('error', () => {});
    const room = req.url;
    const members = join(rooms, room, ws);
    ws.on('message', (data, isBinary) => {
      deliver(members, data, isBinary);
      const head = Buffer.from(`${NODE_ID}${isBinary ? 'b' : 't'}${room}\n`);
      // A failed publish needs no log: the loadgen counts what never arrived as lost.
      pub.publish(CHANNEL, Buffer.concat([head, data])).catch(() => {});
    });
  });
  listen(server);
}

main().catch((err) => {
  console.error(`ws: ${err.message}`);
  process.exit(1);
});
