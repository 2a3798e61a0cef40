'use strict';

// Drop-in for ws's WebSocketServer (see docs/ws-face.md).
module.exports = {};
