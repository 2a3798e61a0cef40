'use strict';

// Drop-in for the websocket package's server side (see docs/websocket-face.md).
module.exports = {};
