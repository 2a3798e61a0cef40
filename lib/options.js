'use strict';

// The native face's options: defaults (mirroring src/config.rs) and validation that names the
// offending option. Rust checks the numbers again when the server is built.

const { optionTypeError, unknownOptionError, rangeError } = require('./errors');

const MAX_INT32 = 2 ** 31 - 1;

/** Engine limits, as `defaultConfig()` in src/config.rs returns them. */
const ENGINE_DEFAULTS = Object.freeze({
  maxPayload: 1024 * 1024,
  maxFrame: 1024 * 1024,
  pingInterval: 30_000,
  idleTimeout: 60_000,
  closeTimeout: 5_000,
  highWaterMark: 1024 * 1024,
  maxBackpressure: 16 * 1024 * 1024,
  sendTimeout: 30_000,
  maxInboundPending: 4 * 1024 * 1024,
  fragmentationThreshold: 0,
  noDelay: true,
  autoPong: true,
});

/** Engine options that are booleans; every other engine option is a whole number. */
const ENGINE_FLAGS = Object.freeze(['noDelay', 'autoPong']);

/** Options of `attach()` that are not engine limits. */
const SERVER_OPTIONS = Object.freeze({
  path: 'string',
  verifyClient: 'function',
  handleProtocols: 'function',
  handshakeTimeout: 'number',
});

/** Defaults of the server options that have one. */
const SERVER_DEFAULTS = Object.freeze({
  // A verifyClient or handleProtocols that never answers must not hold a client forever.
  handshakeTimeout: 10_000,
});

/** Scale-out options: passed to the engine, but not limits (so not in ENGINE_DEFAULTS). */
const SCALEOUT_OPTIONS = Object.freeze(['redis', 'redisPrefix']);
// rediss:// (TLS) is refused: the engine is built without a TLS stack for Redis.
const REDIS_URL = /^(redis|redis\+unix|unix):\/\//;

function checkScaleout(name, value) {
  if (typeof value !== 'string') throw optionTypeError(name, 'a string', value);
  if (name === 'redis' && !REDIS_URL.test(value)) {
    throw rangeError(`The "redis" option`, `must be a redis:// or redis+unix:// URL (no rediss://); received ${JSON.stringify(value.slice(0, 60))}`);
  }
  if (name === 'redisPrefix' && value.length === 0) throw rangeError('The "redisPrefix" option', 'must not be empty');
}

const NUMBER_MIN = Object.freeze({
  handshakeTimeout: 0,
  maxPayload: 1,
  maxFrame: 1,
  pingInterval: 0,
  idleTimeout: 0,
  closeTimeout: 0,
  highWaterMark: 0,
  maxBackpressure: 1,
  sendTimeout: 1,
  maxInboundPending: 1,
  fragmentationThreshold: 0,
});

function checkNumber(name, value) {
  if (typeof value !== 'number') throw optionTypeError(name, 'a number', value);
  if (!Number.isInteger(value) || value < NUMBER_MIN[name] || value > MAX_INT32) {
    throw rangeError(`The "${name}" option`, `must be an integer from ${NUMBER_MIN[name]} to ${MAX_INT32}; received ${value}`);
  }
}

/**
 * Splits user options into server options and engine limits, rejecting unknown or ill-typed
 * ones. `allowed` lists extra keys a face accepts and handles itself.
 */
function normalize(options = {}, allowed = []) {
  if (options === null || typeof options !== 'object') throw optionTypeError('options', 'an object', options);
  const server = {};
  const engine = {};
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || allowed.includes(name)) continue;
    if (name in ENGINE_DEFAULTS) {
      if (ENGINE_FLAGS.includes(name)) {
        if (typeof value !== 'boolean') throw optionTypeError(name, 'a boolean', value);
      } else {
        checkNumber(name, value);
      }
      engine[name] = value;
    } else if (SCALEOUT_OPTIONS.includes(name)) {
      checkScaleout(name, value);
      engine[name] = value;
    } else if (name in SERVER_OPTIONS) {
      if (typeof value !== SERVER_OPTIONS[name]) throw optionTypeError(name, `a ${SERVER_OPTIONS[name]}`, value);
      if (SERVER_OPTIONS[name] === 'number') checkNumber(name, value);
      server[name] = value;
    } else {
      throw unknownOptionError(name);
    }
  }
  if (engine.maxPayload !== undefined && engine.maxFrame === undefined) engine.maxFrame = engine.maxPayload;
  const highWaterMark = engine.highWaterMark ?? ENGINE_DEFAULTS.highWaterMark;
  const maxBackpressure = engine.maxBackpressure ?? ENGINE_DEFAULTS.maxBackpressure;
  if (highWaterMark > maxBackpressure) {
    throw rangeError('The "highWaterMark" option', `(${highWaterMark}) must not exceed maxBackpressure (${maxBackpressure})`);
  }
  return { server: { ...SERVER_DEFAULTS, ...server }, engine };
}

module.exports = { ENGINE_DEFAULTS, SERVER_DEFAULTS, normalize };
