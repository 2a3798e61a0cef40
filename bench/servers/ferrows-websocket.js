'use strict';

// ferrows's drop-in face for the `websocket` package: the same app as websocket.js, only the
// require differs.
const { unavailable } = require('./contract');
const { server } = require('../..');

if (typeof server !== 'function') unavailable("ferrows does not export the websocket face's server yet");
require('./apps/websocket-app').run(server);
