'use strict';

// Public entry: the native face (attach), the drop-in for the `websocket` package (server,
// request, connection, router, ...) and the drop-in for `ws` (WebSocketServer).

const { attach, Server } = require('./lib/server');
const { WebSocket } = require('./lib/socket');
const websocketFace = require('./lib/compat/websocket');
const wsFace = require('./lib/compat/ws');

// `WebSocket` comes last: here it is the native face's class, and the ws face's (which that face
// also names WebSocket, as ws does) is exported as `WsSocket`.
module.exports = { attach, Server, ...wsFace, ...websocketFace, WebSocket };
