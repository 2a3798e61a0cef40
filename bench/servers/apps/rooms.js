'use strict';

// Rooms as apps written for `ws` keep them (ws has no topics of its own): a Set of clients per
// room, left when a client closes, dropped when empty.

/** Adds `ws` to `room` of `rooms`; returns the room's Set of clients. */
function join(rooms, room, ws) {
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(ws);
  ws.on('close', () => {
    members.delete(ws);
    if (members.size === 0 && rooms.get(room) === members) rooms.delete(room);
  });
  return members;
}

module.exports = { join };
