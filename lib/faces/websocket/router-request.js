'use strict';

// What a router handler receives: the request narrowed to the protocol the route matched.

const EventEmitter = require('events');

const NO_PROTOCOL = '____no_protocol____';

class WebSocketRouterRequest extends EventEmitter {
  /**
   * @param {import('./request').WebSocketRequest} webSocketRequest
   * @param {string} resolvedProtocol the matched protocol (lower-cased)
   */
  constructor(webSocketRequest, resolvedProtocol) {
    super();
    this.webSocketRequest = webSocketRequest;
    this.protocol = resolvedProtocol === NO_PROTOCOL ? null : resolvedProtocol;
    this.origin = webSocketRequest.origin;
    this.resource = webSocketRequest.resource;
    this.resourceURL = webSocketRequest.resourceURL;
    this.httpRequest = webSocketRequest.httpRequest;
    this.remoteAddress = webSocketRequest.remoteAddress;
    this.webSocketVersion = webSocketRequest.webSocketVersion;
    this.requestedExtensions = webSocketRequest.requestedExtensions;
    this.cookies = webSocketRequest.cookies;
  }

  /**
   * Accepts with the matched protocol.
   * @param {string} [origin]
   * @param {Array<object>} [cookies]
   */
  accept(origin, cookies) {
    const connection = this.webSocketRequest.accept(this.protocol, origin, cookies);
    this.emit('requestAccepted', connection);
    return connection;
  }

  /**
   * @param {number} [status=403]
   * @param {string} [reason]
   * @param {object} [extraHeaders]
   */
  reject(status, reason, extraHeaders) {
    this.webSocketRequest.reject(status, reason, extraHeaders);
    this.emit('requestRejected', this);
  }
}

module.exports = { WebSocketRouterRequest, NO_PROTOCOL };
