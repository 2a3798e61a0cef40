'use strict';

// Pings and pongs on the ws face against ws (see compat-ws-helpers.js), with ws's automatic pong
// and with autoPong: false, and pause() holding messages until resume().

const ferrows = require('..');
const { once, until, upgradeRequest, frame, parseFrames } = require('./helpers');
const { differential, cleanUp, start, pair, rawUpgrade, describeData, thrown } = require('./compat-ws-helpers');

afterEach(cleanUp);

describe('ws face: ping, pong, pause', () => {
  it('pings and pongs both ways with callbacks and events', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const log = [];
      const record = (who, event) => (data) => log.push([who, event, describeData(data)]);
      ws.on('ping', record('server', 'ping'));
      ws.on('pong', record('server', 'pong'));
      client.on('ping', record('client', 'ping'));
      client.on('pong', record('client', 'pong'));
      const callbacks = [];
      ws.ping('p1', undefined, (...args) => callbacks.push(['ping', args]));
      await until(() => log.length === 2, 5000, 'ping and auto pong');
      ws.pong(Buffer.from('p2'), (...args) => callbacks.push(['pong', args]));
      await until(() => log.length === 3, 5000, 'the pong');
      ws.ping((...args) => callbacks.push(['empty ping', args]));
      await until(() => log.length === 5, 5000, 'the empty ping');
      client.ping('c1');
      await until(() => log.length === 7, 5000, "the client's ping");
      ws.ping(7);
      await until(() => log.length === 9, 5000, 'the number ping');
      const oversized = thrown(() => ws.ping(Buffer.alloc(126)));
      log.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
      return { log, callbacks, oversized };
    });
  });

  it('pause() holds messages until resume()', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { client, ws } = await pair(env);
      const log = [];
      ws.on('message', (data) => log.push(['message', data.toString(), ws.isPaused]));
      ws.pause();
      log.push(['paused', ws.isPaused]);
      const written = new Promise((resolve) => client.send('a', () => client.send('b', resolve)));
      await written;
      // Absence can only be observed over time: the messages are in the server's kernel buffer.
      await new Promise((resolve) => setTimeout(resolve, 150));
      log.push(['resume']);
      ws.resume();
      await until(() => log.length === 4, 5000, 'the held messages');
      return log;
    });
  });
});

describe('ws face: autoPong: false', () => {
  it('leaves pings to the application: a ws client gets a pong only when the app sends one', async () => {
    await differential(async (Server) => {
      const env = await start(Server, { autoPong: false });
      const { client, ws } = await pair(env);
      const log = [];
      const messages = () => log.filter(([what]) => what === 'client message').length;
      client.on('pong', (data) => log.push(['client pong', data.toString()]));
      client.on('message', (data) => log.push(['client message', data.toString()]));
      ws.on('ping', (data) => log.push(['server ping', data.toString()]));
      ws.on('message', (data) => ws.send(data));
      // The echo leaves after the server has read the ping, so a pong would arrive before it.
      client.ping('x');
      client.send('after x');
      await until(() => messages() === 1, 5000, 'the first echo');
      ws.on('ping', (data) => ws.pong(data));
      client.ping('y');
      client.send('after y');
      await until(() => messages() === 2, 5000, 'the second echo');
      return { log, option: env.wss.options.autoPong };
    });
  });

  it('leaves pings to the application: a raw client sees only the pongs the app sends', async () => {
    await differential(async (Server) => {
      const env = await start(Server, { autoPong: false });
      const connection = once(env.wss, 'connection');
      const { socket } = await rawUpgrade(env, upgradeRequest('/'));
      const [ws] = await connection;
      const pings = [];
      ws.on('ping', (data) => {
        pings.push(data.toString());
        if (data.toString() === 'answer me') ws.pong(data);
      });
      ws.on('message', (data) => ws.send(data));
      const received = () => {
        const frames = socket.received.subarray(socket.received.indexOf('\r\n\r\n') + 4);
        return parseFrames(frames).map((f) => [f.opcode, f.payload.toString()]);
      };
      socket.write(Buffer.concat([frame(0x9, 'ignored'), frame(0x1, 'probe 1')]));
      await until(() => received().length === 1, 5000, 'the first echo');
      socket.write(Buffer.concat([frame(0x9, 'answer me'), frame(0x1, 'probe 2')]));
      await until(() => received().length === 3, 5000, 'the pong and the second echo');
      return { frames: received(), pings };
    });
  });

  it('still answers pings itself by default', async () => {
    const env = await start(ferrows.WebSocketServer);
    const { client, ws } = await pair(env);
    const log = [];
    ws.on('ping', (data) => log.push(['server ping', data.toString()]));
    client.on('pong', (data) => log.push(['client pong', data.toString()]));
    client.ping('auto');
    await until(() => log.length === 2, 5000, 'the ping and its pong');
    expect(log.map(([what]) => what).sort()).toEqual(['client pong', 'server ping']);
    expect(env.wss.options.autoPong).toBe(true);
  });
});
