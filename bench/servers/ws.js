'use strict';

// The `ws` package (with bufferutil, which npm installs beside it here, as most deployments do).
require('./apps/ws-app').run(require('ws').WebSocketServer);
