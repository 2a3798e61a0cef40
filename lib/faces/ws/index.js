'use strict';

// `require('ferrows/ws')`: the server side of `require('ws')` (see README, "Drop-in for ws"). As
// in ws, `WebSocket` is the connection class the server's `WebSocket` option extends, and the
// server is also `Server`. There is no client.

const { WebSocketServer } = require('./server');
const { WsSocket } = require('./socket');

module.exports = { WebSocketServer, Server: WebSocketServer, WebSocket: WsSocket, WsSocket };
