'use strict';

// The browser-style event API ws puts on its sockets: addEventListener/removeEventListener and
// the onopen/onmessage/onclose/onerror attributes, over the EventEmitter events.

const kListener = Symbol('kListener');
const kForAttribute = Symbol('kForOnEventAttribute');

class Event {
  /** @param {string} type */
  constructor(type, target) {
    this._type = type;
    this._target = target;
  }

  get type() {
    return this._type;
  }

  get target() {
    return this._target;
  }
}

class MessageEvent extends Event {
  constructor(type, target, data) {
    super(type, target);
    this._data = data;
  }

  get data() {
    return this._data;
  }
}

class CloseEvent extends Event {
  constructor(type, target, code, reason, wasClean) {
    super(type, target);
    this._code = code;
    this._reason = reason;
    this._wasClean = wasClean;
  }

  get code() {
    return this._code;
  }

  get reason() {
    return this._reason;
  }

  get wasClean() {
    return this._wasClean;
  }
}

class ErrorEvent extends Event {
  constructor(type, target, error) {
    super(type, target);
    this._error = error;
    this._message = error.message;
  }

  get error() {
    return this._error;
  }

  get message() {
    return this._message;
  }
}

for (const [cls, names] of [
  [Event, ['type', 'target']],
  [MessageEvent, ['data']],
  [CloseEvent, ['code', 'reason', 'wasClean']],
  [ErrorEvent, ['error', 'message']],
]) {
  for (const name of names) Object.defineProperty(cls.prototype, name, { enumerable: true });
}

/** The EventEmitter listener that turns one emitter event into a DOM-style event. */
function wrap(type, handler) {
  const call = (target, event) => {
    if (typeof handler === 'object' && handler !== null && typeof handler.handleEvent === 'function') {
      handler.handleEvent(event);
    } else {
      handler.call(target, event);
    }
  };
  switch (type) {
    case 'message':
      return function onMessage(data, isBinary) {
        call(this, new MessageEvent('message', this, isBinary ? data : data.toString()));
      };
    case 'close':
      return function onClose(code, reason) {
        call(this, new CloseEvent('close', this, code, reason.toString(), this._wasClean()));
      };
    case 'error':
      return function onError(error) {
        call(this, new ErrorEvent('error', this, error));
      };
    case 'open':
      return function onOpen() {
        call(this, new Event('open', this));
      };
    default:
      return null;
  }
}

const EventTarget = {
  /**
   * Adds a listener for 'message', 'close', 'error' or 'open' (other types are ignored, as ws
   * does); the same handler is added once.
   * @param {string} type
   * @param {Function|{ handleEvent: Function }} handler
   * @param {{ once?: boolean }} [options={}]
   */
  addEventListener(type, handler, options = {}) {
    for (const listener of this.listeners(type)) {
      if (!options[kForAttribute] && listener[kListener] === handler && !listener[kForAttribute]) return;
    }
    const wrapper = wrap(type, handler);
    if (wrapper === null) return;
    wrapper[kListener] = handler;
    wrapper[kForAttribute] = Boolean(options[kForAttribute]);
    if (options.once) this.once(type, wrapper);
    else this.on(type, wrapper);
  },

  /** Removes a listener added with `addEventListener`. */
  removeEventListener(type, handler) {
    for (const listener of this.listeners(type)) {
      if (listener[kListener] === handler && !listener[kForAttribute]) {
        this.removeListener(type, listener);
        return;
      }
    }
  },
};

/** Adds addEventListener/removeEventListener and the on<event> attributes to `proto`. */
function mixin(proto) {
  proto.addEventListener = EventTarget.addEventListener;
  proto.removeEventListener = EventTarget.removeEventListener;
  for (const type of ['open', 'error', 'close', 'message']) {
    Object.defineProperty(proto, `on${type}`, {
      enumerable: true,
      configurable: true,
      get() {
        for (const listener of this.listeners(type)) {
          if (listener[kForAttribute]) return listener[kListener];
        }
        return null;
      },
      set(handler) {
        for (const listener of this.listeners(type)) {
          if (listener[kForAttribute]) {
            this.removeListener(type, listener);
            break;
          }
        }
        if (typeof handler === 'function') this.addEventListener(type, handler, { [kForAttribute]: true });
      },
    });
  }
}

module.exports = { mixin, Event, MessageEvent, CloseEvent, ErrorEvent };
