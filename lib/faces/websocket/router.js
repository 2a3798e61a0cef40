'use strict';

// Routes a server's requests to handlers by path (string, RegExp or '*') and protocol; a
// request no handler takes is rejected with 404.

const EventEmitter = require('events');
const { WebSocketRouterRequest, NO_PROTOCOL } = require('./router-request');

class WebSocketRouter extends EventEmitter {
  /** @param {{ server?: object }} [config] the WebSocketServer to attach to */
  constructor(config) {
    super();
    this.config = { server: null };
    if (config) Object.assign(this.config, config);
    this.handlers = [];
    this._requestHandler = (request) => this.handleRequest(request);
    if (this.config.server) this.attachServer(this.config.server);
  }

  /** Starts routing `server`'s 'request' events. */
  attachServer(server) {
    if (!server) throw new Error('You must specify a WebSocketServer instance to attach to.');
    this.server = server;
    server.on('request', this._requestHandler);
  }

  detachServer() {
    if (!this.server) throw new Error('Cannot detach from server: not attached.');
    this.server.removeListener('request', this._requestHandler);
    this.server = null;
  }

  /**
   * Adds a handler; one per path and protocol.
   * @param {string|RegExp} path an exact pathname, a RegExp, or '*' for any
   * @param {string|null} [protocol] a requested protocol, '*' for any, or none for requests without one
   * @param {(request: WebSocketRouterRequest) => void} callback
   */
  mount(path, protocol, callback) {
    if (!path) throw new Error('You must specify a path for this handler.');
    if (!protocol) protocol = NO_PROTOCOL;
    if (!callback) throw new Error('You must specify a callback for this handler.');
    const pattern = this.pathToRegExp(path);
    if (!(pattern instanceof RegExp)) throw new Error('Path must be specified as either a string or a RegExp.');
    const pathString = pattern.toString();
    protocol = protocol.toLocaleLowerCase();
    if (this.findHandlerIndex(pathString, protocol) !== -1) {
      throw new Error('You may only mount one handler per path/protocol combination.');
    }
    this.handlers.push({ path: pattern, pathString, protocol, callback });
  }

  /** Removes the handler of `path` and `protocol`; throws when there is none. */
  unmount(path, protocol) {
    const index = this.findHandlerIndex(this.pathToRegExp(path).toString(), protocol || NO_PROTOCOL);
    if (index === -1) throw new Error('Unable to find a route matching the specified path and protocol.');
    this.handlers.splice(index, 1);
  }

  findHandlerIndex(pathString, protocol) {
    const lower = protocol.toLocaleLowerCase();
    return this.handlers.findIndex((h) => h.pathString === pathString && h.protocol === lower);
  }

  pathToRegExp(path) {
    if (typeof path !== 'string') return path;
    if (path === '*') return /^.*$/;
    return new RegExp('^' + path.replace(/[-[\]{}()*+?.,\\^$|#\s]/g, '\\$&') + '$');
  }

  /** Hands `request` to the first handler matching its path and a requested protocol, in the client's order. */
  handleRequest(request) {
    const requested = request.requestedProtocols.length === 0 ? [NO_PROTOCOL] : request.requestedProtocols;
    for (const protocol of requested) {
      const lower = protocol.toLocaleLowerCase();
      for (const handler of this.handlers) {
        if (handler.path.test(request.resourceURL.pathname) && (lower === handler.protocol || handler.protocol === '*')) {
          handler.callback(new WebSocketRouterRequest(request, lower));
          return;
        }
      }
    }
    request.reject(404, 'No handler is available for the given request.');
  }
}

module.exports = { WebSocketRouter };
