'use strict';

// ferrows's drop-in face for `ws`: the same app as ws.js, only the require differs.
const { unavailable } = require('./contract');
const { WebSocketServer } = require('../..');

if (typeof WebSocketServer !== 'function') unavailable("ferrows does not export WebSocketServer yet");
require('./apps/ws-app').run(WebSocketServer);
