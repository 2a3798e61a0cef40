'use strict';

// What the scale-out servers add to the contract (../contract.js): env REDIS, the redis:// URL
// of the Redis every node shares, and REDIS_PREFIX, the channel prefix of this run. A client
// joins the room named by its request path (`/`, `/rooms/7`; socket.io: the `room` query
// parameter) and every message goes to every client of that room on every node, sender
// included. MODE is ignored: these servers only do rooms over Redis.

const redisUrl = process.env.REDIS;
if (!/^redis:\/\/127\.0\.0\.1:\d+\/\d+$/.test(redisUrl ?? '')) {
  console.error(`REDIS must be a loopback redis:// URL, got ${JSON.stringify(redisUrl)}`);
  process.exit(2);
}
const redisPrefix = process.env.REDIS_PREFIX || 'bench';

module.exports = { redisUrl, redisPrefix };
