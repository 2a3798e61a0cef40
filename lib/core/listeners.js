'use strict';

// EventEmitter keeps its listeners in `_events`, made as `{ __proto__: null }`, which V8 holds
// as a dictionary: about 180 bytes on every connection, the largest part of an idle one's
// JavaScript. A Listeners object has no inherited keys either (its prototype's prototype is
// null), but stays in V8's fast mode: about 50 bytes with the usual three listeners.

function Listeners() {}
Listeners.prototype = Object.create(null);

/** Gives a freshly constructed EventEmitter the compact listener table. */
function compactListeners(emitter) {
  emitter._events = new Listeners();
}

module.exports = { compactListeners };
