'use strict';

// What the scale-out rows need around the servers: a throwaway redis-server on a free loopback
// port (no persistence, pinned with the servers, stopped by its PID), and a counting TCP proxy
// in front of it for the idle node, which measures the bytes Redis sends that node. Redis 7.0
// has no per-client traffic counter (CLIENT LIST's tot-net-out came in 7.2), and a proxy counts
// alike whatever client library a node uses and however many connections it opens.

const { spawn, spawnSync } = require('child_process');
const net = require('net');
const { pinned, track, freePort, exited, SERVER_CORE } = require('./processes');

const READY_TIMEOUT_MS = 5000;

// redis-server from $REDIS_SERVER or $PATH; null when missing (Debian: apt-get install redis-server).
function findRedis() {
  const binary = process.env.REDIS_SERVER || 'redis-server';
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? { binary, version: /v=(\S+)/.exec(probe.stdout)?.[1] ?? 'unknown' } : null;
}

function accepting(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// Starts redis-server pinned to the servers' core; resolves { child, pid, port } once it accepts.
async function startRedis(binary) {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const [command, argv] = pinned(SERVER_CORE, binary, args);
  const child = track(spawn(command, argv, { stdio: 'ignore' }));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not accept connections on ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { child, pid: child.pid, port };
}

async function stopRedis(redis) {
  if (redis.child.exitCode !== null || redis.child.signalCode !== null) return;
  redis.child.kill('SIGKILL'); // nothing to save: no persistence
  await exited(redis.child);
}

// A proxy on a free loopback port to Redis on `redisPort`. `bytes()` is what Redis has sent
// through it so far, over every connection; `close()` ends it and its connections.
async function countingProxy(redisPort) {
  let toClient = 0;
  const sockets = new Set();
  const keep = (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    return socket;
  };
  const server = net.createServer((client) => {
    keep(client);
    const upstream = keep(net.connect(redisPort, '127.0.0.1'));
    upstream.on('data', (chunk) => (toClient += chunk.length));
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const port = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
  return {
    port,
    bytes: () => toClient,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

module.exports = { findRedis, startRedis, stopRedis, countingProxy };
