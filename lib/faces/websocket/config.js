'use strict';

// The server config of the websocket package: its defaults, and how each option maps onto the
// engine's limits (which Rust enforces).

const { LIMIT_MAX, checkLimits } = require('../../core/limits');

/** The package's defaults (WebSocketServer.prototype.mount), in its order. */
const DEFAULTS = Object.freeze({
  httpServer: null,
  maxReceivedFrameSize: 0x10000,
  maxReceivedMessageSize: 0x100000,
  fragmentOutgoingMessages: true,
  fragmentationThreshold: 0x4000,
  keepalive: true,
  keepaliveInterval: 20000,
  dropConnectionOnKeepaliveTimeout: true,
  keepaliveGracePeriod: 10000,
  useNativeKeepalive: false,
  assembleFragments: true,
  autoAcceptConnections: false,
  ignoreXForwardedFor: false,
  parseCookies: true,
  parseExtensions: true,
  disableNagleAlgorithm: true,
  closeTimeout: 5000,
});

/**
 * net.Socket's default writable high-water mark: the package's `outputBufferFull` and 'drain'
 * follow the socket's buffer, so the engine's mark is set to the same size.
 */
const SOCKET_HIGH_WATER_MARK = 16 * 1024;

/** ferrows-only options a websocket-package config may carry (passed to the engine as is). */
const ENGINE_EXTRAS = ['highWaterMark', 'maxBackpressure', 'sendTimeout', 'maxInboundPending'];

/** Merges `config` over the defaults the way the package does (every own enumerable key). */
function withDefaults(config) {
  const merged = { ...DEFAULTS };
  for (const key in config) merged[key] = config[key];
  return merged;
}

/**
 * A size or a duration as the engine takes it: the package's sizes and timers take any number,
 * Infinity included, so anything past the engine's bound is its bound.
 */
function whole(value) {
  return Math.min(LIMIT_MAX, Math.max(0, Math.floor(Number(value) || 0)));
}

/**
 * A size limit as the engine takes it. The package tests `length > limit`, which a limit that
 * is not a number (NaN, undefined: an unset option passed on) never passes: no limit.
 */
function sizeLimit(value) {
  return Number.isNaN(Number(value)) ? LIMIT_MAX : Math.max(1, whole(value));
}

/**
 * The engine limits for a merged config. Keepalive: a ping every `keepaliveInterval`, and a
 * peer silent for `keepaliveInterval + keepaliveGracePeriod` is dropped (checked at each ping).
 */
function engineLimits(config) {
  if (config.keepalive && !config.useNativeKeepalive && typeof config.keepaliveInterval !== 'number') {
    throw new Error('keepaliveInterval must be specified and numeric if keepalive is true.');
  }
  const pinging = Boolean(config.keepalive) && !config.useNativeKeepalive;
  const dropping = pinging && Boolean(config.dropConnectionOnKeepaliveTimeout);
  if (dropping && typeof config.keepaliveGracePeriod !== 'number') {
    throw new Error('keepaliveGracePeriod  must be specified and numeric if dropConnectionOnKeepaliveTimeout is true.');
  }
  const pingInterval = pinging ? whole(config.keepaliveInterval) : 0;
  const limits = {
    maxFrame: sizeLimit(config.maxReceivedFrameSize),
    maxPayload: sizeLimit(config.maxReceivedMessageSize),
    pingInterval,
    idleTimeout: dropping && pingInterval > 0 ? Math.min(LIMIT_MAX, pingInterval + whole(config.keepaliveGracePeriod)) : 0,
    closeTimeout: whole(config.closeTimeout),
    fragmentationThreshold: config.fragmentOutgoingMessages ? whole(config.fragmentationThreshold) : 0,
    noDelay: Boolean(config.disableNagleAlgorithm),
    highWaterMark: SOCKET_HIGH_WATER_MARK,
    // A 'ping' listener may withhold the pong (`cancel()`), so the connection sends it from
    // JavaScript after the listeners have run, and the engine sends none itself.
    autoPong: false,
  };
  for (const name of ENGINE_EXTRAS) {
    if (config[name] !== undefined) limits[name] = config[name];
  }
  if (limits.maxBackpressure !== undefined && config.highWaterMark === undefined) {
    limits.highWaterMark = Math.min(limits.highWaterMark, limits.maxBackpressure);
  }
  return checkLimits(limits);
}

module.exports = { DEFAULTS, withDefaults, engineLimits };
