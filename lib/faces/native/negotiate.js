'use strict';

// The ws-style opening negotiation shared by the native and ws faces: RFC checks, verifyClient
// (sync, promise or callback form) and subprotocol choice. It ends in exactly one of
// `accept(protocol)` or an HTTP rejection of the socket.

const { reject, check, parseProtocols } = require('../../core/handshake');

/** Calls `verifyClient` in any of its forms and reports once through `done(err, ok, ...)`. */
function verify(fn, info, done) {
  if (fn.length >= 2) {
    fn(info, (ok, code, message, headers) => done(null, ok, code, message, headers));
    return;
  }
  const result = fn(info);
  if (result && typeof result.then === 'function') {
    result.then((ok) => done(null, ok), (err) => done(err));
  } else {
    done(null, result);
  }
}

function selectProtocol(handleProtocols, req, protocols, accept, fail) {
  if (protocols.size === 0) return accept(undefined);
  let chosen;
  try {
    chosen = handleProtocols ? handleProtocols(protocols, req) : protocols.values().next().value;
  } catch (err) {
    return fail(err);
  }
  if (chosen && typeof chosen.then === 'function') chosen.then((p) => accept(p || undefined), fail);
  else accept(chosen || undefined);
}

/**
 * Runs the negotiation for an upgrade request; `engine` answers the extension offers.
 * @param {{ verifyClient?: Function, handleProtocols?: Function, handshakeTimeout?: number }} options
 *   `handshakeTimeout` (ms) bounds how long the user's callbacks may keep the client waiting; it
 *   is answered with 408
 * @param {{ secure: boolean, socketOf: () => import('stream').Duplex }} client whether the
 *   connection is TLS, and its socket, asked for only to refuse
 * @param {(protocol: string | undefined) => void} accept called when the upgrade may proceed
 * @param {(err: Error) => void} onError called (after a 500) when a user callback failed
 */
function negotiate(engine, options, req, { secure, socketOf }, accept, onError) {
  const refusal = check(req);
  if (refusal) return reject(socketOf(), refusal.status, refusal.message, refusal.headers);
  const protocols = parseProtocols(req.headers['sec-websocket-protocol']);
  if (protocols === undefined) return reject(socketOf(), 400, 'Invalid Sec-WebSocket-Protocol header');
  if (engine.negotiate(req.headers['sec-websocket-extensions']) === undefined) {
    return reject(socketOf(), 400, 'Invalid or unacceptable Sec-WebSocket-Extensions header');
  }
  // Exactly one outcome: the first of accept, refusal, failure or the deadline.
  let timer = null;
  let settled = false;
  const once = (fn) => (...args) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    fn(...args);
  };
  const proceed = once(accept);
  const refuse = once((status, message, headers) => reject(socketOf(), status, message, headers));
  const fail = once((err) => {
    reject(socketOf(), 500);
    onError(err);
  });
  const waits = options.verifyClient || (options.handleProtocols && protocols.size > 0);
  if (waits && options.handshakeTimeout > 0) {
    timer = setTimeout(() => refuse(408, 'WebSocket handshake timed out'), options.handshakeTimeout);
    timer.unref();
  }
  const choose = () => selectProtocol(options.handleProtocols, req, protocols, proceed, fail);
  if (!options.verifyClient) return choose();
  const info = { origin: req.headers.origin, secure, req };
  let answered = false;
  const done = (err, ok, code = 401, message, headers) => {
    if (answered) return;
    answered = true;
    if (err) fail(err);
    else if (ok) choose();
    else refuse(code, message, headers);
  };
  try {
    verify(options.verifyClient, info, done);
  } catch (err) {
    done(err);
  }
}

/** Whether a request's pathname (query ignored) is `path`; any path when `path` is undefined. */
function matchesPath(path, req) {
  if (path === undefined) return true;
  const q = req.url.indexOf('?');
  return (q === -1 ? req.url : req.url.slice(0, q)) === path;
}

module.exports = { negotiate, matchesPath };
