'use strict';

// The protocol between the JavaScript and Rust halves, read from the engine itself (event kinds in
// src/server/events.rs, send statuses in src/conn/mod.rs, error codes in
// src/protocol/failure.rs), so the two halves cannot drift apart.

const native = require('./native');

const { events, sendStatus, errorCodes } = native.protocol();

/** Event kinds of a batch quad, by name: `EVENT.TEXT`, `EVENT.PEER_CLOSE`, ... */
const EVENT = Object.freeze({ ...events });

/** What a send did: `SEND.QUEUED`, `SEND.ABOVE_HIGH_WATER` (wait for drain), `SEND.NOT_OPEN`. */
const SEND = Object.freeze({ ...sendStatus });

/** The `err.code` of each error code index an ERROR event carries. */
const ERROR_CODES = Object.freeze([...errorCodes]);

module.exports = { EVENT, SEND, ERROR_CODES };
