'use strict';

// `require('ferrows/ws')`: the server side of `require('ws')` (see README, "Drop-in for ws"). As
// ws's module is its `WebSocket` class with the rest as statics, so is this one: the connection
// class (the one a server's `WebSocket` option extends), with `WebSocket.OPEN` and the other
// states, `WebSocketServer`, `Server` and `createWebSocketStream`. `const WebSocket =
// require('ferrows/ws'); new WebSocket.Server(...)` and `client.readyState === WebSocket.OPEN`
// work as with ws. There is no client: constructing one throws.

const { WebSocketServer } = require('./server');
const { WsSocket } = require('./socket');
const { createWebSocketStream } = require('./stream');

WsSocket.createWebSocketStream = createWebSocketStream;
WsSocket.WebSocketServer = WebSocketServer;
WsSocket.Server = WebSocketServer;
WsSocket.WebSocket = WsSocket;
WsSocket.WsSocket = WsSocket;

module.exports = WsSocket;
