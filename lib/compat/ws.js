'use strict';

// Drop-in for ws's WebSocketServer (see README, "Drop-in for ws").

const { WebSocketServer } = require('./ws-server');
const { WsSocket } = require('./ws-socket');

// `WebSocket` as in ws's exports: the class the server's WebSocket option extends. The package
// entry keeps that name for the native face's class, so applications extend `WsSocket` there.
module.exports = { WebSocketServer, WsSocket, WebSocket: WsSocket };
