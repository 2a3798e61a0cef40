'use strict';

// The engine's limits as every face passes them: their defaults, read from the engine
// (src/config.rs, the one definition), and the type checks JavaScript makes. Their ranges are the
// engine's to check (native.checkLimits, when an Engine is built): one definition of each bound.

const native = require('./native');
const { optionTypeError, unknownOptionError } = require('./errors');

/** Every engine limit with its default, from `defaultConfig()`. */
const ENGINE_DEFAULTS = Object.freeze(
  Object.fromEntries(Object.entries(native.defaultConfig()).filter(([, value]) => value !== undefined))
);

/** permessage-deflate's settings once enabled, with their defaults, from `defaultDeflate()`. */
const DEFLATE_DEFAULTS = Object.freeze(native.defaultDeflate());

/** The option that enables compression: not a limit, so not in ENGINE_DEFAULTS (it is off). */
const DEFLATE = 'perMessageDeflate';

/** DEFLATE_DEFAULTS by their full names (`perMessageDeflate.level`), as errors name them. */
const DEFLATE_SETTINGS = Object.freeze(
  Object.fromEntries(Object.entries(DEFLATE_DEFAULTS).map(([name, value]) => [`${DEFLATE}.${name}`, value]))
);

/** Whether `name` is an option the engine takes. */
function isEngineOption(name) {
  return Object.hasOwn(ENGINE_DEFAULTS, name) || name === DEFLATE;
}

/**
 * Checks `value` (a setting named `name`) against the type of its default in `defaults`: a
 * boolean where the default is one, a number elsewhere. An unknown name is a TypeError naming it.
 */
function checkType(defaults, name, value) {
  if (!Object.hasOwn(defaults, name)) throw unknownOptionError(name);
  const type = typeof defaults[name];
  if (typeof value !== type) throw optionTypeError(name, type === 'boolean' ? 'a boolean' : 'a number', value);
}

/**
 * `perMessageDeflate` as the engine takes it: undefined when off (false), `{}` for the defaults
 * (true), or the settings given, type-checked by name.
 */
function deflateOption(value) {
  if (value === false) return undefined;
  if (value === true) return {};
  if (value === null || typeof value !== 'object') throw optionTypeError(DEFLATE, 'a boolean or an object', value);
  const checked = {};
  for (const [name, setting] of Object.entries(value)) {
    if (setting === undefined) continue;
    checkType(DEFLATE_SETTINGS, `${DEFLATE}.${name}`, setting);
    checked[name] = setting;
  }
  return checked;
}

/**
 * Checks the types of engine limits and returns those that are set; `perMessageDeflate` is
 * checked setting by setting (see deflateOption).
 */
function checkLimits(limits) {
  const checked = {};
  for (const [name, value] of Object.entries(limits)) {
    if (value === undefined) continue;
    if (name === DEFLATE) {
      const deflate = deflateOption(value);
      if (deflate !== undefined) checked[name] = deflate;
      continue;
    }
    checkType(ENGINE_DEFAULTS, name, value);
    checked[name] = value;
  }
  // The default high-water mark gives way to a smaller maxBackpressure, which it may not pass.
  if (checked.maxBackpressure !== undefined && checked.highWaterMark === undefined) {
    checked.highWaterMark = Math.min(ENGINE_DEFAULTS.highWaterMark, checked.maxBackpressure);
  }
  return checked;
}

/**
 * The largest value the engine takes for a byte size or a duration in milliseconds
 * (src/config.rs, `MAX_BYTES` and `MAX_MILLIS`): a face whose package takes larger ones (or
 * Infinity) for "no limit" gives the engine this.
 */
const LIMIT_MAX = 2 ** 31 - 1;

module.exports = { ENGINE_DEFAULTS, DEFLATE_DEFAULTS, LIMIT_MAX, isEngineOption, checkLimits };
