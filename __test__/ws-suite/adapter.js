'use strict';

// The smallest bridge that runs ws's own server tests (written for mocha, against ws's lib/)
// under Jest against ferrows's ws face. The vendored suite requires this instead of ws's files.

const path = require('path');
const WsClient = require('ws');

// ws's package exports no lib/ files: they are reached by path.
const wsLib = path.join(path.dirname(require.resolve('ws/package.json')), 'lib');
const Sender = require(path.join(wsLib, 'sender'));
const { NOOP } = require(path.join(wsLib, 'constants'));
const ferrows = require('../..');
const makeDuplexPair = require('./duplex-pair');

// mocha's hook names; Jest already has beforeEach/afterEach under the same names.
Object.assign(global, { before: beforeAll, after: afterAll });

/**
 * What the suite calls `WebSocket` (ws's `require('..')`): called with `new`, it is ws's real
 * client, so every test still talks to the server over the wire; its server-side names are
 * ferrows's. `WebSocket.WebSocket` is only used as the base of a class given to the server's
 * `WebSocket` option, so it is the face's connection class.
 */
class WebSocket extends WsClient {}
WebSocket.Server = ferrows.WebSocketServer;
WebSocket.WebSocketServer = ferrows.WebSocketServer;
WebSocket.WebSocket = ferrows.WsSocket;

module.exports = { WebSocket, Sender, NOOP, makeDuplexPair };
