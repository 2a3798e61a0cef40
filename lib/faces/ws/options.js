'use strict';

// ws's server options: its defaults, the ones ferrows cannot honour (refused, never faked), and
// the engine limits they map to.

const { Z_DEFAULT_COMPRESSION } = require('zlib').constants;
const { ENGINE_DEFAULTS, LIMIT_MAX, checkLimits } = require('../../core/limits');
const { WsSocket } = require('./socket');

/** The level zlib's "default level" (Z_DEFAULT_COMPRESSION, -1) stands for; ws passes -1 on. */
const ZLIB_DEFAULT_LEVEL = 6;

/** ws 8's defaults (lib/websocket-server.js), plus ferrows's own limits. */
const DEFAULTS = Object.freeze({
  allowSynchronousEvents: true,
  autoPong: true,
  maxBufferedChunks: 256 * 1024,
  maxFragments: 16 * 1024,
  maxPayload: 100 * 1024 * 1024,
  maxPendingAutoPongs: 60,
  skipUTF8Validation: false,
  perMessageDeflate: false,
  handleProtocols: null,
  clientTracking: true,
  closeTimeout: 30000,
  verifyClient: null,
  noServer: false,
  backlog: null,
  server: null,
  host: null,
  path: null,
  port: null,
  maxBackpressure: ENGINE_DEFAULTS.maxBackpressure,
  sendTimeout: ENGINE_DEFAULTS.sendTimeout,
  maxInboundPending: ENGINE_DEFAULTS.maxInboundPending,
  WebSocket: WsSocket,
});

/** Merges `options` over the defaults and refuses what the engine cannot do. */
function resolve(options) {
  const merged = { ...DEFAULTS, ...options };
  if (
    (merged.port == null && !merged.server && !merged.noServer) ||
    (merged.port != null && (merged.server || merged.noServer)) ||
    (merged.server && merged.noServer)
  ) {
    throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
  }
  if (merged.WebSocket == null) merged.WebSocket = WsSocket;
  if (!isSocketClass(merged.WebSocket)) {
    throw new TypeError(
      'ferrows WebSocketServer: the WebSocket option must be WsSocket or a class that extends it ' +
        "(require('ferrows').WsSocket: ws's own WebSocket class cannot run over the engine, and " +
        "require('ferrows').WebSocket is the native face's)"
    );
  }
  return merged;
}

/** ws's rule for the WebSocket option: the connection class or one that extends it. */
function isSocketClass(value) {
  return value === WsSocket || (typeof value === 'function' && value.prototype instanceof WsSocket);
}

/**
 * ws's `perMessageDeflate` as the engine takes it, with ws's meaning for every setting it
 * leaves unset: context takeover both ways, as ws negotiates it (each connection then keeps its
 * own zlib state once it compresses or inflates a message, as in ws; `serverNoContextTakeover`
 * and `clientNoContextTakeover` set to true keep none). zlib's level and memLevel come from
 * `zlibDeflateOptions`. Settings the engine has no use for are accepted and ignored:
 * `concurrencyLimit` (compression runs on the engine's threads, not Node's threadpool),
 * `zlibInflateOptions`, the other zlib options, and window bits given as `true`/`false` (only
 * numbers narrow the windows). Values ws takes as they come are read as ws reads them (see
 * `threshold`, `level`), so an app's options that start `ws` start this face.
 */
function deflateSettings(option) {
  if (!option) return false;
  const settings = option === true ? {} : option;
  const bits = (value) => (typeof value === 'number' ? value : undefined);
  const zlib = settings.zlibDeflateOptions || {};
  return {
    threshold: threshold(settings.threshold),
    // ws compresses every message on a connection that keeps its context, whatever the size.
    thresholdWithTakeover: false,
    level: zlib.level === Z_DEFAULT_COMPRESSION ? ZLIB_DEFAULT_LEVEL : zlib.level,
    memLevel: zlib.memLevel,
    serverNoContextTakeover: Boolean(settings.serverNoContextTakeover),
    clientNoContextTakeover: Boolean(settings.clientNoContextTakeover),
    // zlib compresses raw DEFLATE with no window under 512 bytes: ws's 8 is zlib's 9.
    serverMaxWindowBits: settings.serverMaxWindowBits === 8 ? 9 : bits(settings.serverMaxWindowBits),
    clientMaxWindowBits: bits(settings.clientMaxWindowBits),
  };
}

/**
 * ws's `threshold` as a byte count: ws compresses a message when `length >= threshold`, with
 * JavaScript's coercions, so a negative, null or non-numeric value compresses every message,
 * `Infinity` none, and a fraction counts from the next whole byte.
 */
function threshold(value) {
  if (value === undefined) return undefined;
  const bytes = Number(value);
  if (!(bytes > 0)) return 0;
  return Math.min(Math.ceil(bytes), LIMIT_MAX);
}

/**
 * The engine limits for these options: ws's message limit (0 meaning none, as in ws), ws's close
 * timeout, no server pings or idle cut (ws has neither), ferrows's backpressure bounds, whether
 * the engine answers pings itself, and compression.
 */
function engineLimits(options) {
  let maxPayload = options.maxPayload;
  if (typeof maxPayload === 'number') {
    maxPayload = maxPayload > 0 ? Math.min(Math.floor(maxPayload), LIMIT_MAX) : LIMIT_MAX;
  }
  const limits = {
    maxPayload,
    pingInterval: 0,
    idleTimeout: 0,
    closeTimeout: options.closeTimeout,
    maxBackpressure: options.maxBackpressure,
    sendTimeout: options.sendTimeout,
    maxInboundPending: options.maxInboundPending,
    // ws reads autoPong for its truth (an explicit undefined turns it off there too). Off, the
    // engine only delivers 'ping' and the application answers with ws.pong().
    autoPong: Boolean(options.autoPong),
    // ws reads it as `| 0` and cuts only above a positive count.
    maxPendingAutoPongs: Math.max(0, options.maxPendingAutoPongs | 0),
    perMessageDeflate: deflateSettings(options.perMessageDeflate),
  };
  // Text reaches this face's handlers as a Buffer, as in ws: the engine delivers it so.
  return { ...checkLimits(limits), textAsBuffer: true };
}

module.exports = { DEFAULTS, resolve, engineLimits };
