'use strict';

// The chat-room demo (`npm start`): one http.Server serves the page and carries the WebSocket
// at /ws through ferrows. Joined users share one topic; live stats go to every tab with
// broadcast.
//
// Wire protocol (JSON text frames):
//   client -> server  { type: 'join', name }  { type: 'chat', text }
//   server -> client  { type: 'welcome', name, users, history }  { type: 'chat', from, text, at }
//                     { type: 'presence', event: 'join' | 'leave', name, users }
//                     { type: 'stats', connections, online, messagesPerSecond, deliveriesPerSecond,
//                       totalMessages, uptime }  { type: 'error', message }

const fs = require('fs');
const http = require('http');
const path = require('path');
// Inside this repository the package name resolves to the repository itself (package.json
// "exports"), so this line is the one an application writes.
const { attach } = require('ferrows');

const HOST = '127.0.0.1';
const PORT = parsePort(process.env.PORT, 8080);
const ROOM = 'room:lobby';
const MAX_NAME = 24;
const MAX_TEXT = 500;
const HISTORY = 50;
// A JSON frame carrying MAX_TEXT characters, even all escaped, fits well below this; anything
// bigger is not a chat client and ferrows closes it with 1009 before JavaScript sees it.
const MAX_PAYLOAD = 8 * 1024;

const PUBLIC = path.join(__dirname, 'public');
// Only these files are served, so no request path ever reaches the file system.
const FILES = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
};
const HEADERS = {
  'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

function parsePort(value, fallback) {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`chat: PORT must be an integer 0-65535, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return port;
}

function serveFile(req, res) {
  const pathname = new URL(req.url, 'http://localhost').pathname;
  const entry = FILES[pathname];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
    return res.end('Method Not Allowed\n');
  }
  if (!entry) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    return res.end('Not Found\n');
  }
  const [file, type] = entry;
  fs.readFile(path.join(PUBLIC, file), (err, body) => {
    if (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      return res.end('Internal Server Error\n');
    }
    res.writeHead(200, { ...HEADERS, 'Content-Type': type, 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

/** The trimmed name, or an error message. Names are unique in the room, ignoring case. */
function checkName(value, users) {
  if (typeof value !== 'string') return { error: 'Name must be text.' };
  const name = value.replace(/\s+/g, ' ').trim();
  const length = [...name].length;
  if (length === 0) return { error: 'Please enter a name.' };
  if (length > MAX_NAME) return { error: `Names are at most ${MAX_NAME} characters.` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return { error: 'Name contains control characters.' };
  const taken = [...users].some((n) => n.toLowerCase() === name.toLowerCase());
  if (taken) return { error: `"${name}" is already in the room.` };
  return { name };
}

function checkText(value) {
  if (typeof value !== 'string') return { error: 'Message must be text.' };
  const text = value.trim();
  if (text.length === 0) return { error: 'Empty message.' };
  if ([...text].length > MAX_TEXT) return { error: `Messages are at most ${MAX_TEXT} characters.` };
  return { text };
}

const server = http.createServer(serveFile);
// Browsers offer permessage-deflate on every connection: long messages and the history sent on
// join go compressed (from 256 bytes; shorter ones are not worth it).
const wss = attach(server, { path: '/ws', maxPayload: MAX_PAYLOAD, perMessageDeflate: { threshold: 256 } });

/** Names of joined connections, by connection. */
const names = new Map();
const history = [];
const stats = { started: Date.now(), messages: 0, windowMessages: 0, windowDeliveries: 0 };

function onlineUsers() {
  return [...names.values()].sort((a, b) => a.localeCompare(b));
}

function publish(message) {
  stats.windowDeliveries += wss.publish(ROOM, JSON.stringify(message));
}

function reply(ws, message) {
  ws.send(JSON.stringify(message));
}

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    stats.messages += 1;
    stats.windowMessages += 1;
    let msg;
    try {
      msg = isBinary ? null : JSON.parse(data);
    } catch {
      msg = null;
    }
    if (msg === null || typeof msg !== 'object') return reply(ws, { type: 'error', message: 'Unreadable message.' });

    if (msg.type === 'join') {
      if (names.has(ws)) return reply(ws, { type: 'error', message: 'Already joined.' });
      const { name, error } = checkName(msg.name, names.values());
      if (error) return reply(ws, { type: 'error', message: error });
      names.set(ws, name);
      // The welcome goes first, so the newcomer's list is complete before any later event.
      reply(ws, { type: 'welcome', name, users: onlineUsers(), history });
      publish({ type: 'presence', event: 'join', name, users: onlineUsers() });
      ws.subscribe(ROOM);
      return;
    }

    if (msg.type === 'chat') {
      const from = names.get(ws);
      if (from === undefined) return reply(ws, { type: 'error', message: 'Join the room first.' });
      const { text, error } = checkText(msg.text);
      if (error) return reply(ws, { type: 'error', message: error });
      const message = { type: 'chat', from, text, at: Date.now() };
      history.push(message);
      if (history.length > HISTORY) history.shift();
      // The sender is subscribed too: its own copy is the server's acknowledgement.
      publish(message);
      return;
    }

    reply(ws, { type: 'error', message: 'Unknown message type.' });
  });

  ws.on('close', () => {
    const name = names.get(ws);
    if (name === undefined) return;
    names.delete(ws);
    publish({ type: 'presence', event: 'leave', name, users: onlineUsers() });
  });
});

const ticker = setInterval(() => {
  const message = {
    type: 'stats',
    connections: wss.clients.size,
    online: names.size,
    messagesPerSecond: stats.windowMessages,
    deliveriesPerSecond: stats.windowDeliveries,
    totalMessages: stats.messages,
    uptime: Math.round((Date.now() - stats.started) / 1000),
  };
  stats.windowMessages = 0;
  stats.windowDeliveries = 0;
  wss.broadcast(JSON.stringify(message));
}, 1000);
// Stats alone must never keep the process alive.
ticker.unref();

let stopping = false;
async function shutdown(signal) {
  if (stopping) {
    console.log('chat: forced exit');
    process.exit(1);
  }
  stopping = true;
  console.log(`chat: ${signal}, closing connections`);
  clearInterval(ticker);
  // A peer that never answers cannot hold the process: wss.close is bounded by closeTimeout,
  // this guards the http side.
  setTimeout(() => {
    console.error('chat: shutdown timed out');
    process.exit(1);
  }, 10000).unref();
  await wss.close();
  await new Promise((resolve) => {
    server.close(resolve);
    // Browsers keep idle HTTP connections open; they would delay close() for minutes.
    if (server.closeIdleConnections) server.closeIdleConnections();
  });
  console.log('chat: stopped');
  process.exit(0);
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

server.on('error', (err) => {
  console.error(`chat: ${err.message}`);
  process.exit(1);
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  console.log(`ferrows chat: http://${HOST}:${port}/ (WebSocket at ws://${HOST}:${port}/ws; Ctrl-C stops)`);
});
