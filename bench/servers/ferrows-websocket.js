'use strict';

// ferrows's drop-in face for the `websocket` package: the same app as websocket.js, only the
// require differs.
const { server } = require('../..');
require('./apps/websocket-app').run(server);
