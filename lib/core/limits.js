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

/**
 * Checks the types of engine limits (booleans where the default is one, numbers elsewhere) and
 * returns those that are set. An unknown name is a TypeError naming it.
 */
function checkLimits(limits) {
  const checked = {};
  for (const [name, value] of Object.entries(limits)) {
    if (value === undefined) continue;
    if (!(name in ENGINE_DEFAULTS)) throw unknownOptionError(name);
    const type = typeof ENGINE_DEFAULTS[name];
    if (typeof value !== type) throw optionTypeError(name, type === 'boolean' ? 'a boolean' : 'a number', value);
    checked[name] = value;
  }
  return checked;
}

module.exports = { ENGINE_DEFAULTS, checkLimits };
