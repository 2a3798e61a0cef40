'use strict';

// The ws face's createWebSocketStream against ws's (see compat-ws-helpers.js): the Duplex an
// application pipes through, its ends, its errors and its backpressure, seen by the application
// and by the client.

const WS = require('ws');
const ferrows = require('..');
const { once, until } = require('./helpers');
const { differential, cleanUp, start, pair, describeData } = require('./compat-ws-helpers');

afterEach(cleanUp);

const streamOf = (name) => (name === 'ws' ? WS.createWebSocketStream : ferrows.createWebSocketStream);

/** Records the stream events an application would listen to. */
function recordStream(duplex) {
  const log = [];
  for (const event of ['end', 'finish', 'close']) duplex.on(event, () => log.push(event));
  duplex.on('error', (err) => log.push(['error', err.code ?? err.message]));
  return log;
}

describe('ws face: createWebSocketStream', () => {
  it('is exported where ws exports it', () => {
    expect(typeof ferrows.createWebSocketStream).toBe('function');
    expect(require('ferrows/ws').createWebSocketStream).toBe(ferrows.createWebSocketStream);
  });

  it('reads messages as chunks and sends what is written; the client closing ends both sides', async () => {
    await differential(async (Server, name) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const duplex = streamOf(name)(ws);
      const log = recordStream(duplex);
      duplex.pipe(duplex);
      const got = [];
      client.on('message', (data, isBinary) => got.push([describeData(data), isBinary]));
      client.send('text');
      client.send(Buffer.from([1, 2, 3]));
      await until(() => got.length === 2, 5000, 'both echoes');
      const closed = once(client, 'close');
      client.close(4001, 'bye');
      const [code] = await closed;
      await until(() => log.includes('close'), 5000, "the stream's close");
      return { got, code, log, destroyed: duplex.destroyed };
    });
  });

  it.each([
    ['ws', false],
    ['wss', true],
  ])("end() closes the connection once the close frame is out; the client sees 1005 (%s)", async (_, secure) => {
    await differential(async (Server, name) => {
      const env = await start(Server, {}, { secure });
      const { client, ws } = await pair(env);
      const duplex = streamOf(name)(ws);
      const log = recordStream(duplex);
      duplex.resume();
      const closed = once(client, 'close');
      duplex.write('first');
      duplex.end('last', () => log.push('end callback'));
      const [code, reason] = await closed;
      await until(() => log.includes('close'), 5000, "the stream's close");
      return { code, reason: reason.toString(), log, state: ws.readyState, finished: duplex.writableFinished };
    });
  });

  it('destroy() terminates the connection (1006 at the client)', async () => {
    await differential(async (Server, name) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const duplex = streamOf(name)(ws);
      const log = recordStream(duplex);
      const closed = once(client, 'close');
      duplex.destroy();
      const [code] = await closed;
      await until(() => log.includes('close'), 5000, "the stream's close");
      return { code, log, state: ws.readyState };
    });
  });

  it('a protocol error destroys the stream with it and still sends the close frame', async () => {
    await differential(async (Server, name) => {
      const env = await start(Server, { maxPayload: 8 });
      const { client, ws } = await pair(env);
      const duplex = streamOf(name)(ws);
      const log = recordStream(duplex);
      const closed = once(client, 'close');
      client.send('more than eight bytes');
      const [code] = await closed;
      await until(() => log.includes('close'), 5000, "the stream's close");
      return { code, log };
    });
  });

  it('pauses the connection while the readable side is full, and resumes it when read', async () => {
    await differential(async (Server, name) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const duplex = streamOf(name)(ws, { readableHighWaterMark: 4 });
      for (const text of ['first message', 'second', 'third']) client.send(text);
      await until(() => ws.isPaused, 5000, 'the connection paused');
      const chunks = [];
      duplex.on('data', (chunk) => chunks.push(chunk.toString()));
      await until(() => chunks.join('') === 'first messagesecondthird', 5000, 'every message read');
      return { chunks: chunks.join(''), paused: ws.isPaused };
    });
  });
});
