'use strict';

// Drop-in for ws's WebSocketServer (see docs/ws-face.md).

const { WebSocketServer } = require('./ws-server');
const { WsSocket } = require('./ws-socket');

module.exports = { WebSocketServer, WsSocket };
