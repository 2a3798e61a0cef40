'use strict';

// The `websocket` package (1.0.35), server side.
require('./apps/websocket-app').run(require('websocket').server);
