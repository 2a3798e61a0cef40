'use strict';

// The options of `attach()`: the engine limits (checked by core/limits.js and the engine), the
// server's own options (path, verification, protocol choice, handshake timeout) and scale-out.

const { LIMIT_MAX, isEngineOption, checkLimits } = require('../../core/limits');
const { optionTypeError, unknownOptionError, rangeError } = require('../../core/errors');

/** Options of `attach()` that are not engine limits, with their types. */
const SERVER_OPTIONS = Object.freeze({
  path: 'string',
  verifyClient: 'function',
  handleProtocols: 'function',
  handshakeTimeout: 'number',
  intake: 'boolean',
});

/** Defaults of the server options that have one. */
const SERVER_DEFAULTS = Object.freeze({
  // A verifyClient or handleProtocols that never answers must not hold a client forever.
  handshakeTimeout: 10_000,
});

/** Scale-out options: passed to the engine, but not limits (so not in ENGINE_DEFAULTS). */
const SCALEOUT_OPTIONS = Object.freeze(['redis', 'redisPrefix']);
// rediss:// (TLS) is refused: the engine is built without a TLS stack for Redis.
const REDIS_URL = { form: /^(redis|redis\+unix|unix):\/\//, expected: 'a redis:// or redis+unix:// URL (no rediss://)' };
// A cluster's nodes announce TCP addresses, so its seeds are TCP too.
const CLUSTER_URL = { form: /^redis:\/\//, expected: 'a list of redis:// URLs (no rediss://, no Unix sockets)' };

/**
 * Checks a scale-out option and returns what the engine takes for it: `redis` is a URL, or
 * `{ cluster: [url, ...] }` for a Redis Cluster (sharded pub/sub, Redis 7 or later).
 */
function scaleoutOption(name, value) {
  if (name === 'redis' && value !== null && typeof value === 'object') return { redisCluster: clusterNodes(value) };
  if (typeof value !== 'string') throw optionTypeError(name, name === 'redis' ? 'a string or { cluster }' : 'a string', value);
  if (name === 'redis') checkRedisUrl('redis', value, REDIS_URL);
  if (name === 'redisPrefix' && value.length === 0) throw rangeError('The "redisPrefix" option', 'must not be empty');
  return { [name]: value };
}

function clusterNodes(value) {
  const { cluster } = value;
  const extra = Object.keys(value).find((key) => key !== 'cluster');
  if (extra !== undefined) throw unknownOptionError(`redis.${extra}`);
  if (!Array.isArray(cluster) || cluster.length === 0) throw optionTypeError('redis.cluster', 'a non-empty array of redis:// URLs', cluster);
  for (const url of cluster) {
    if (typeof url !== 'string') throw optionTypeError('redis.cluster', 'a non-empty array of redis:// URLs', url);
    checkRedisUrl('redis.cluster', url, CLUSTER_URL);
  }
  return [...cluster];
}

function checkRedisUrl(name, url, { form, expected }) {
  if (!form.test(url)) throw rangeError(`The "${name}" option`, `must be ${expected}; received ${JSON.stringify(url.slice(0, 60))}`);
}

function checkServerOption(name, value) {
  if (typeof value !== SERVER_OPTIONS[name]) throw optionTypeError(name, `a ${SERVER_OPTIONS[name]}`, value);
  if (name === 'handshakeTimeout' && !(Number.isInteger(value) && value >= 0 && value <= LIMIT_MAX)) {
    throw rangeError(`The "${name}" option`, `must be an integer from 0 to ${LIMIT_MAX}; received ${value}`);
  }
}

/**
 * Splits `attach()`'s options into server options (with their defaults) and what the engine
 * takes (limits and scale-out), rejecting unknown or ill-typed ones by name.
 */
function normalize(options = {}) {
  if (options === null || typeof options !== 'object') throw optionTypeError('options', 'an object', options);
  const server = {};
  const limits = {};
  const scaleout = {};
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (isEngineOption(name)) limits[name] = value;
    else if (SCALEOUT_OPTIONS.includes(name)) Object.assign(scaleout, scaleoutOption(name, value));
    else if (Object.hasOwn(SERVER_OPTIONS, name)) {
      checkServerOption(name, value);
      server[name] = value;
    } else throw unknownOptionError(name);
  }
  return { server: { ...SERVER_DEFAULTS, ...server }, engine: { ...checkLimits(limits), ...scaleout } };
}

module.exports = { normalize };
