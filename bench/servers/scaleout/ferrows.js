'use strict';

// ferrows, native face, scaled out through Redis (`attach(server, { redis, redisPrefix })`):
// ws.subscribe(room) on connection, wss.publish(room, data) per message. Local subscribers get
// the message at once; other nodes get it from Redis and fan it out in Rust, without entering
// JavaScript. A node subscribes to a room's channel only while it has a subscriber of it.

const http = require('http');
const { port, HOST, ready } = require('../contract');
const { redisUrl, redisPrefix } = require('./redis-env');
const { attach } = require('../../..');

const server = http.createServer();
const wss = attach(server, { redis: redisUrl, redisPrefix });
wss.on('error', (err) => console.error(`ferrows: ${err.message}`));

wss.on('connection', (ws, req) => {
  ws.on('error', () => {}); // a client going away mid-run is not worth a log line here
  const room = req.url;
  ws.subscribe(room);
  ws.on('message', (data) => wss.publish(room, data));
});

// Ready once listening and linked to Redis, so the first messages of a run are not published
// into the void. Listening first also keeps the process alive meanwhile (the engine's Redis
// link does not hold Node's event loop).
const linked = new Promise((resolve) => wss.once('redisReady', resolve));
server.listen(port, HOST, () => linked.then(ready));
