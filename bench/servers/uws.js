'use strict';

// uWebSockets.js, through the `@trufflesuite/uws-js-unofficial` republish (the project is not
// on npm under its own name; this build loads on Node 20). It has its own HTTP stack, so it
// listens by itself rather than on an http.Server. Broadcast uses its native pub/sub: every
// client subscribes to one topic and each message is published to it (app.publish reaches the
// sender too, as the other servers' broadcasts do). Rooms: the upgrade keeps the request's path
// as the socket's user data, and the client subscribes to it.
//
// uWS drops messages silently once a socket's backpressure exceeds maxBackpressure (with
// closeOnBackpressureLimit false): the limit is set far above anything the loadgen can queue,
// and the loadgen counts lost messages anyway.
//
// DEFLATE=1: SHARED_COMPRESSOR, one compressor for all sockets (so no context takeover on the
// server's side). uWS compresses a message only when the send asks for it, hence the `compress`
// argument of send and publish; it has no threshold.

const { port, mode, deflate, HOST, ready, unavailable } = require('./contract');

let uWS;
try {
  uWS = require('@trufflesuite/uws-js-unofficial');
} catch (err) {
  unavailable(`uWebSockets.js does not load here: ${err.message}`);
}

const TOPIC = 'room';
const topicOf = (ws) => (mode === 'rooms' ? ws.getUserData().topic : TOPIC);

const app = uWS.App().ws('/*', {
  compression: deflate ? uWS.SHARED_COMPRESSOR : uWS.DISABLED,
  maxPayloadLength: 64 * 1024 * 1024,
  maxBackpressure: 1024 * 1024 * 1024,
  closeOnBackpressureLimit: false,
  // Without an upgrade handler uWS upgrades natively; only rooms need one, for the path.
  ...(mode === 'rooms' && {
    upgrade: (res, req, context) => {
      res.upgrade(
        { topic: req.getUrl() },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
  }),
  open: (ws) => {
    if (mode !== 'echo') ws.subscribe(topicOf(ws));
  },
  message: (ws, message, isBinary) => {
    if (mode === 'echo') ws.send(message, isBinary, deflate);
    else app.publish(topicOf(ws), message, isBinary, deflate);
  },
});

app.listen(HOST, port, (token) => {
  if (!token) {
    console.error(`uWS could not listen on ${HOST}:${port}`);
    process.exit(1);
  }
  ready();
});
