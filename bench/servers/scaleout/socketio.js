'use strict';

// socket.io 4 with @socket.io/redis-adapter (its classic createAdapter, on the `redis` client):
// a socket joins the room of its `room` query parameter; every event `m` goes to the whole room,
// sender included, with io.to(room).emit. The adapter sends each emit to local sockets at once
// and publishes it for the other nodes, which PSUBSCRIBE to the prefix's every channel.

const http = require('http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');
const { listen } = require('../contract');
const { redisUrl, redisPrefix } = require('./redis-env');

async function main() {
  const pubClient = createClient({ url: redisUrl });
  const subClient = pubClient.duplicate();
  for (const client of [pubClient, subClient]) client.on('error', (err) => console.error(`redis: ${err.message}`));
  await Promise.all([pubClient.connect(), subClient.connect()]);

  const server = http.createServer();
  const io = new Server(server, { adapter: createAdapter(pubClient, subClient, { key: redisPrefix }) });
  io.on('connection', (socket) => {
    const room = String(socket.handshake.query.room ?? '/');
    socket.join(room);
    socket.on('m', (data) => io.to(room).emit('m', data));
  });
  listen(server);
}

main().catch((err) => {
  console.error(`socketio: ${err.message}`);
  process.exit(1);
});
