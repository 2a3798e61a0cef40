'use strict';

// Rooms with publish/subscribe: each room is a topic; a message is framed once in Rust and
// fanned out to the room's subscribers.
//   PORT=8080 node examples/rooms.js
// Protocol (JSON): { op: 'join' | 'leave', room }  and  { op: 'say', room, text }.
// The server answers joins and leaves with { op: 'joined' | 'left', room, members }, and
// relays { op: 'message', room, text } to the other members of the room.

const http = require('http');
const { attach } = require('ferrows');

const MAX_ROOMS = 16;

const server = http.createServer((req, res) => res.end('rooms: connect with a WebSocket client\n'));
const wss = attach(server, { maxPayload: 16 * 1024 });

function topic(room) {
  return `room:${room}`;
}

function validRoom(room) {
  return typeof room === 'string' && /^[\w-]{1,32}$/.test(room);
}

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    let msg;
    try {
      msg = isBinary ? null : JSON.parse(data);
    } catch {
      msg = null;
    }
    if (!msg || !validRoom(msg.room)) return ws.send(JSON.stringify({ op: 'error', message: 'bad request' }));
    const t = topic(msg.room);

    if (msg.op === 'join') {
      if (ws.topics.length >= MAX_ROOMS && !ws.isSubscribed(t)) {
        return ws.send(JSON.stringify({ op: 'error', message: 'too many rooms' }));
      }
      ws.subscribe(t);
      ws.send(JSON.stringify({ op: 'joined', room: msg.room, members: wss.subscribers(t) }));
    } else if (msg.op === 'leave') {
      ws.unsubscribe(t);
      ws.send(JSON.stringify({ op: 'left', room: msg.room, members: wss.subscribers(t) }));
    } else if (msg.op === 'say' && typeof msg.text === 'string') {
      if (!ws.isSubscribed(t)) return ws.send(JSON.stringify({ op: 'error', message: 'join the room first' }));
      // ws.publish skips the sender; wss.publish(topic, data) would include it.
      ws.publish(t, JSON.stringify({ op: 'message', room: msg.room, text: msg.text }));
    } else {
      ws.send(JSON.stringify({ op: 'error', message: 'unknown op' }));
    }
  });
  // A closed connection leaves all its topics by itself: no bookkeeping needed here.
});

server.listen(Number(process.env.PORT || 8080), '127.0.0.1', () => {
  console.log(`rooms: listening on ws://127.0.0.1:${server.address().port}/`);
});
