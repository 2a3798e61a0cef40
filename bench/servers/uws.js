'use strict';

// uWebSockets.js, through the `@trufflesuite/uws-js-unofficial` republish (the project is not
// on npm under its own name; this build loads on Node 20). It has its own HTTP stack, so it
// listens by itself rather than on an http.Server. Broadcast uses its native pub/sub: every
// client subscribes to one topic and each message is published to it (app.publish reaches the
// sender too, as the other servers' broadcasts do).
//
// uWS drops messages silently once a socket's backpressure exceeds maxBackpressure (with
// closeOnBackpressureLimit false): the limit is set far above anything the loadgen can queue,
// and the loadgen counts lost messages anyway.

const { port, mode, HOST, ready, unavailable } = require('./contract');

let uWS;
try {
  uWS = require('@trufflesuite/uws-js-unofficial');
} catch (err) {
  unavailable(`uWebSockets.js does not load here: ${err.message}`);
}

const TOPIC = 'room';

const app = uWS.App().ws('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 64 * 1024 * 1024,
  maxBackpressure: 1024 * 1024 * 1024,
  closeOnBackpressureLimit: false,
  open: (ws) => {
    if (mode === 'broadcast') ws.subscribe(TOPIC);
  },
  message: (ws, message, isBinary) => {
    if (mode === 'echo') ws.send(message, isBinary);
    else app.publish(TOPIC, message, isBinary);
  },
});

app.listen(HOST, port, (token) => {
  if (!token) {
    console.error(`uWS could not listen on ${HOST}:${port}`);
    process.exit(1);
  }
  ready();
});
