'use strict';

// The chat demo (examples/chat, same page) on every core: Node's `cluster` module forks one
// worker per core, the workers share the port, and ferrows' `redis` option carries `publish` and
// `broadcast` between them, so a message typed on one worker reaches the tabs of all of them.
// Run a Redis first, then:
//   REDIS_URL=redis://127.0.0.1:6379/0 PORT=8080 node examples/cluster/server.js
// or, with a Redis Cluster (Redis 7+; topics are spread over its shards), some of its nodes:
//   REDIS_CLUSTER=redis://127.0.0.1:7000,redis://127.0.0.1:7001 PORT=8080 node examples/cluster/server.js
// Add machines by running the same command elsewhere against the same Redis.
//
// What Redis does not share here: each worker keeps its own user list, history and stats (a real
// application would keep those in Redis too). Names are unique per worker; the list a tab shows
// is the one of the worker whose presence event came last.

const cluster = require('cluster');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { attach } = require('ferrows');

const HOST = '127.0.0.1';
const PORT = Number(process.env.PORT || 8080);
const REDIS = process.env.REDIS_CLUSTER
  ? { cluster: process.env.REDIS_CLUSTER.split(',') }
  : process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';
const hidePassword = (url) => url.replace(/\/\/[^@/]*@/, '//***@');
const WORKERS = Number(process.env.WORKERS) || (os.availableParallelism ? os.availableParallelism() : os.cpus().length);
const ROOM = 'room:lobby';
const PUBLIC = path.join(__dirname, '..', 'chat', 'public');
const FILES = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
};

if (cluster.isPrimary) {
  const where = typeof REDIS === 'string' ? `Redis at ${hidePassword(REDIS)}` : `Redis Cluster at ${REDIS.cluster.map(hidePassword).join(', ')}`;
  console.log(`cluster chat: ${WORKERS} workers, ${where}`);
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  let stopping = false;
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) console.error(`cluster chat: worker ${worker.process.pid} exited (${signal || code})`);
    if (Object.keys(cluster.workers).length === 0) process.exit(0);
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.kill('SIGTERM');
    setTimeout(() => process.exit(1), 10000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  runWorker();
}

function runWorker() {
  const id = cluster.worker.id;
  const server = http.createServer((req, res) => {
    const entry = FILES[new URL(req.url, 'http://localhost').pathname];
    if (!entry || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('Not Found\n');
    }
    fs.readFile(path.join(PUBLIC, entry[0]), (err, body) => {
      if (err) {
        res.writeHead(500);
        return res.end();
      }
      res.writeHead(200, { 'Content-Type': entry[1], 'Cache-Control': 'no-cache', 'X-Worker': String(id) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  const wss = attach(server, { path: '/ws', maxPayload: 8 * 1024, redis: REDIS, redisPrefix: 'ferrows-chat' });
  // Without Redis each worker still serves its own tabs; say so once per outage.
  wss.on('error', (err) => console.error(`worker ${id}: ${err.message}`));
  wss.on('redisReady', () => console.log(`worker ${id}: Redis ready`));

  const names = new Map();
  const history = [];
  let messages = 0;
  let total = 0;
  let deliveries = 0;
  const users = () => [...names.values()].sort((a, b) => a.localeCompare(b));
  // The count is local: remote workers deliver their share without telling this one.
  const publish = (message) => (deliveries += wss.publish(ROOM, JSON.stringify(message)));
  const reply = (ws, message) => ws.send(JSON.stringify(message));

  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      messages += 1;
      total += 1;
      let msg = null;
      try {
        msg = isBinary ? null : JSON.parse(data);
      } catch {
        // answered below
      }
      if (msg === null || typeof msg !== 'object') return reply(ws, { type: 'error', message: 'Unreadable message.' });
      if (msg.type === 'join') {
        const name = typeof msg.name === 'string' ? msg.name.replace(/\s+/g, ' ').trim().slice(0, 24) : '';
        // eslint-disable-next-line no-control-regex
        if (!name || /[\u0000-\u001f\u007f-\u009f]/.test(name)) return reply(ws, { type: 'error', message: 'Please enter a name.' });
        if (names.has(ws)) return reply(ws, { type: 'error', message: 'Already joined.' });
        if (users().some((n) => n.toLowerCase() === name.toLowerCase())) {
          return reply(ws, { type: 'error', message: `"${name}" is already in the room.` });
        }
        names.set(ws, name);
        reply(ws, { type: 'welcome', name, users: users(), history });
        publish({ type: 'presence', event: 'join', name, users: users() });
        ws.subscribe(ROOM);
      } else if (msg.type === 'chat' && names.has(ws)) {
        const text = typeof msg.text === 'string' ? msg.text.trim() : '';
        if (!text || [...text].length > 500) return reply(ws, { type: 'error', message: 'Messages are 1-500 characters.' });
        const message = { type: 'chat', from: names.get(ws), text, at: Date.now() };
        history.push(message);
        if (history.length > 50) history.shift();
        publish(message);
      } else {
        reply(ws, { type: 'error', message: names.has(ws) ? 'Unknown message type.' : 'Join the room first.' });
      }
    });
    ws.on('close', () => {
      const name = names.get(ws);
      if (name === undefined) return;
      names.delete(ws);
      publish({ type: 'presence', event: 'leave', name, users: users() });
    });
  });

  // Stats describe this worker, so they go to its own tabs only (a broadcast would cross Redis).
  const started = Date.now();
  const ticker = setInterval(() => {
    const stats = JSON.stringify({
      type: 'stats',
      connections: wss.clients.size,
      online: names.size,
      messagesPerSecond: messages,
      deliveriesPerSecond: deliveries,
      totalMessages: total,
      uptime: Math.round((Date.now() - started) / 1000),
    });
    messages = 0;
    deliveries = 0;
    for (const ws of wss.clients) ws.send(stats);
  }, 1000);
  ticker.unref();

  process.on('SIGTERM', async () => {
    clearInterval(ticker);
    await wss.close();
    server.close(() => process.exit(0));
    if (server.closeIdleConnections) server.closeIdleConnections();
    setTimeout(() => process.exit(1), 8000).unref();
  });
  process.on('SIGINT', () => {}); // the primary decides

  server.listen(PORT, HOST, () => {
    if (id === 1) console.log(`ferrows cluster chat: http://${HOST}:${server.address().port}/ (WebSocket at /ws)`);
  });
}
