'use strict';

// The native face: `attach(httpServer, options)` and its classes (see README, "The native face").

const { attach, Server } = require('./server');
const { WebSocket } = require('./socket');

module.exports = { attach, Server, WebSocket };
