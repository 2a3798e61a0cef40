'use strict';

const { attach, Server } = require('./lib/server');
const { WebSocket } = require('./lib/socket');

module.exports = { attach, Server, WebSocket };
