'use strict';

// Drop-in for the websocket package's server side (see README, "Drop-in for the websocket package"): the names
// `require('websocket')` exports, but the client ones (client, w3cwebsocket, frame).

const { WebSocketServer } = require('./server');
const { WebSocketRequest } = require('./request');
const { WebSocketConnection } = require('./connection');
const { WebSocketRouter } = require('./router');
const { version } = require('../../../package.json');

/** The package's switch for deprecation warnings; ferrows has none to give. */
const deprecation = {
  disableWarnings: false,
  deprecationWarningMap: {},
  warn() {},
};

module.exports = {
  server: WebSocketServer,
  request: WebSocketRequest,
  connection: WebSocketConnection,
  router: WebSocketRouter,
  deprecation,
  version,
};
