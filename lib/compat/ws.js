'use strict';

// Drop-in for ws's WebSocketServer (see README, "Drop-in for ws").

const { WebSocketServer } = require('./ws-server');
const { WsSocket } = require('./ws-socket');

module.exports = { WebSocketServer, WsSocket };
