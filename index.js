'use strict';

// Public entry: the native face (attach), the drop-in for the `websocket` package (server,
// request, connection, router, ...) and the drop-in for `ws` (WebSocketServer, createWebSocketStream). Each drop-in also
// has its own entry with its package's exact names: `ferrows/websocket` and `ferrows/ws`.

const { attach, Server, WebSocket } = require('./lib/faces/native');
const websocketFace = require('./lib/faces/websocket');
const { WebSocketServer, WsSocket, createWebSocketStream } = require('./lib/faces/ws');

// Here `WebSocket` is the native face's class; the ws face's is `WsSocket` (or `WebSocket` of
// `ferrows/ws`).
module.exports = { attach, Server, WebSocket, WebSocketServer, WsSocket, createWebSocketStream, ...websocketFace };
