'use strict';

// ferrows's drop-in face for `ws`: the same app as ws.js, only the require differs.
const { WebSocketServer } = require('../..');
require('./apps/ws-app').run(WebSocketServer);
