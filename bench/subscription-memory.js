#!/usr/bin/env node
'use strict';

// What a topic subscription costs Redis (README, "Channel layout", sizing): a fresh redis-server
// on a loopback port, N channels named as ferrows names a topic's (`<prefix>:t:<topic>`)
// subscribed on one connection as a node does, then the same N on a second connection (a
// second node with subscribers of the same topics), with Redis's `used_memory` read before and
// after each. Usage: node bench/subscription-memory.js [N=100000]

const net = require('net');
const { findRedis, startRedis, stopRedis } = require('./lib/redis');

const N = Number(process.argv[2] ?? 100000);
const BATCH = 1000;

/** Sends `args` as one RESP command on `socket`. */
function send(socket, args) {
  socket.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''));
}

/** A connection that collects what Redis answers. */
async function connection(port) {
  const socket = net.connect(port, '127.0.0.1');
  socket.text = '';
  socket.on('data', (d) => (socket.text += d.toString('latin1')));
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** Resolves once `socket` has received `marker`, within `ms`. */
async function received(socket, marker, ms = 60000) {
  const deadline = Date.now() + ms;
  while (!socket.text.includes(marker)) {
    if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(marker)} from Redis within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function usedMemory(port) {
  const socket = await connection(port);
  send(socket, ['INFO', 'memory']);
  await received(socket, 'used_memory_peak:');
  socket.destroy();
  return Number(/used_memory:(\d+)/.exec(socket.text)[1]);
}

/** Subscribes `socket` to the N channels and waits for Redis to have answered every one. */
async function subscribeAll(socket) {
  for (let from = 0; from < N; from += BATCH) {
    const channels = [];
    for (let i = from; i < Math.min(from + BATCH, N); i++) channels.push(`bench:t:room-${i}`);
    send(socket, ['SUBSCRIBE', ...channels]);
  }
  // A PING in subscribed mode answers after every reply before it.
  send(socket, ['PING', 'subscribed']);
  await received(socket, 'subscribed\r\n');
  socket.text = '';
}

async function main() {
  const found = findRedis();
  if (!found) throw new Error('redis-server is not installed (Debian: apt-get install redis-server)');
  const redis = await startRedis(found.binary);
  try {
    const before = await usedMemory(redis.port);
    const first = await connection(redis.port);
    await subscribeAll(first);
    const afterFirst = await usedMemory(redis.port);
    const second = await connection(redis.port);
    await subscribeAll(second);
    const afterSecond = await usedMemory(redis.port);
    const perSub = (bytes) => (bytes / N).toFixed(0);
    console.log(`redis-server ${found.version}, ${N.toLocaleString('en-US')} channels named like bench:t:room-12345`);
    console.log(`first subscriber of a channel: ${perSub(afterFirst - before)} B each`);
    console.log(`another connection subscribed to the same channels: ${perSub(afterSecond - afterFirst)} B each`);
    first.destroy();
    second.destroy();
  } finally {
    await stopRedis(redis);
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
