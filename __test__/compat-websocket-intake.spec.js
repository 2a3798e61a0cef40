'use strict';

// The `websocket` face and the Rust-first intake (lib/core/intake.js): a plain upgrade becomes a
// 'request' before Node's HTTP parser sees it. Whatever the application does with it (accept
// at once, later, reject, read `request.socket`), what it and the client observe must be the
// package's; only a connection accepted in the handler skips the net.Socket.

const async_hooks = require('async_hooks');
const net = require('net');
const { parseFrames, frame, upgradeRequest, until, once, rawClient, socketClosed } = require('./helpers');
const { earlyClient } = require('./fixtures/early-client');
const ferrows = require('..');
const { stopAll, start, same, both, wsOpen, wsClient, wsRefusal, next } = require('./compat-websocket-helpers');

afterEach(stopAll);

/** What the application reads off a request and the connection it accepts. */
function describeRequest(request) {
  const req = request.httpRequest;
  return {
    request: [request.resource, request.origin, request.remoteAddress, request.requestedProtocols, request.webSocketVersion],
    httpRequest: [req.method, req.url, req.httpVersion, req.headers.cookie, req.rawHeaders.length, req.complete],
  };
}

/**
 * Counts the TCP sockets (libuv's) this process opens from now on that are still open: the
 * intake's connections never become one. Counted by their own creation and close (async
 * hooks), so that a socket of an earlier test closing meanwhile does not count.
 */
function openedSockets() {
  const open = new Set();
  const hook = async_hooks
    .createHook({
      init(id, type) {
        if (type === 'TCPWRAP') open.add(id);
      },
      destroy(id) {
        open.delete(id);
      },
    })
    .enable();
  return { count: () => open.size, stop: () => hook.disable() };
}

describe('websocket face: requests the intake sees first', () => {
  it('are the requests the package shows, and an accepted one never becomes a net.Socket', async () => {
    const results = await both(async (impl, name) => {
      const env = await start(impl);
      const seen = next(env.wsServer, 'request');
      const connected = next(env.wsServer, 'connect');
      let afterAccept;
      env.wsServer.on('request', (request) => {
        const connection = request.accept('chat', request.origin);
        afterAccept = [request.socket.remoteAddress, request.socket.localPort === env.port];
        connection.on('message', (m) => connection.sendUTF(`re: ${m.utf8Data}`));
      });
      const sockets = openedSockets();
      const client = await wsOpen(env.url + '/room?id=7', ['chat', 'other'], { headers: { Cookie: 'a=1' }, origin: 'http://here' });
      const request = await seen;
      const connection = await connected;
      client.send('hi');
      await until(() => client.got.length === 1, 5000, 'the echo');
      const observed = {
        ...describeRequest(request),
        protocol: [client.protocol, connection.protocol],
        addresses: [connection.remoteAddress, connection.socket.remoteAddress, afterAccept],
        echo: client.got,
        // The client's own, and the server's when it is a net.Socket.
        sockets: sockets.count(),
      };
      // What is left open, should a wait time out.
      const failing = (err) => {
        sockets.stop();
        throw new Error(`${err.message}; ${name}: ${sockets.count()} TCP sockets open (${process.getActiveResourcesInfo().join(', ')})`);
      };
      const clientClosed = once(client, 'close', 5000).catch(failing);
      client.close();
      await clientClosed;
      await until(() => sockets.count() === 0, 5000, 'both ends of the connection to close').catch(failing);
      sockets.stop();
      return observed;
    });
    const { sockets: packageSockets, ...pkg } = results.websocket;
    const { sockets: faceSockets, ...face } = results.ferrows;
    expect(face).toEqual(pkg);
    expect([packageSockets, faceSockets]).toEqual([2, 1]);
  });

  it.each([
    ['', false],
    ["with a 'connection' listener on the http server", true],
  ])('give an accepted request a socket that ends with the connection and cuts it when destroyed %s', async (_, listening) => {
    await same(async (impl) => {
      const env = await start(impl, {}, (wsServer) => {
        if (listening) wsServer.config.httpServer.forEach((s) => s.on('connection', () => {}));
      });
      const log = [];
      env.wsServer.on('request', (request) => {
        const connection = request.accept(null, request.origin);
        connection.on('close', (code) => log.push(['connection close', code]));
        request.socket.on('close', () => log.push(['socket close']));
        log.push(['destroyed', request.socket.destroyed]);
        request.socket.destroy();
      });
      const client = wsClient(env.url);
      await until(() => client.readyState === client.CLOSED, 5000, "the client's close");
      const [code] = await client.closed;
      await until(() => log.length === 3, 5000, 'the server side');
      return { first: log[0], ends: log.slice(1).sort(), client: code };
    });
  });

  it("leave every upgrade to Node when another 'upgrade' listener may take one the handler leaves", async () => {
    const WsClient = require('ws');
    await same(async (impl) => {
      const env = await start(impl);
      // Another library on the same port: ws without a server of its own, on /other.
      const other = new WsClient.WebSocketServer({ noServer: true });
      other.on('connection', (ws) => ws.send('hello from ws'));
      let heard = 0;
      env.httpServer.on('upgrade', (req, socket, head) => {
        heard++;
        if (req.url === '/other') other.handleUpgrade(req, socket, head, (ws) => other.emit('connection', ws));
      });
      // The application decides only its own path, as the package lets it.
      env.wsServer.on('request', (request) => {
        if (request.resource === '/chat') request.accept(null, null).sendUTF('hello from the server');
      });
      const chat = await wsOpen(env.url + '/chat');
      const elsewhere = await wsOpen(env.url + '/other');
      await until(() => chat.got.length === 1 && elsewhere.got.length === 1, 5000, 'both greetings');
      const seen = { chat: chat.got, other: elsewhere.got, heard };
      chat.close();
      elsewhere.close();
      await Promise.all([chat.closed, elsewhere.closed]);
      other.close();
      return seen;
    });
  });

  it('can be accepted later, with request.socket a net.Socket until then', async () => {
    await same(async (impl) => {
      const env = await start(impl);
      let socket = null;
      env.wsServer.on('request', (request) => {
        setTimeout(() => {
          socket = request.socket;
          const connection = request.accept(null, request.origin);
          connection.on('message', (m) => connection.sendUTF(`later: ${m.utf8Data}`));
        }, 20);
      });
      const client = await wsOpen(env.url + '/');
      client.send('hi');
      await until(() => client.got.length === 1, 5000, 'the echo');
      client.close();
      return { socket: socket instanceof net.Socket, remote: socket.remoteAddress, echo: client.got };
    });
  });

  it('answer a rejection as the package does, read request.socket or not', async () => {
    await same(async (impl) => {
      const env = await start(impl);
      const touched = [];
      env.wsServer.on('request', (request) => {
        if (request.resource === '/touched') touched.push(request.socket.remoteAddress);
        request.reject(403, 'Not here', { 'X-Why': 'test' });
      });
      return { plain: await wsRefusal(env.url + '/plain'), touched: await wsRefusal(env.url + '/touched'), addresses: touched };
    });
  });

  it('see a client leave while the application decides, whenever its request came', async () => {
    await same(async (impl) => {
      const env = await start(impl);
      const closes = [];
      env.wsServer.on('request', (request) => {
        request.once('requestResolved', () => closes.push('resolved'));
        setTimeout(() => {
          const connection = request.accept(null, request.origin);
          connection.on('close', (code, description) => closes.push([code, description]));
        }, 150);
      });
      // The request written with the connect (the intake reads it before Node makes a socket),
      // just after it, and late (a 'connection' event's socket).
      for (const delay of [null, 0, 60]) {
        const socket = rawClient(env);
        if (delay !== null) {
          await once(socket, 'connect');
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
        socket.write(upgradeRequest('/'));
        await new Promise((resolve) => setTimeout(resolve, 30));
        const before = closes.length;
        socket.destroy();
        await until(() => closes.length === before + 2, 5000, 'the close after the late accept');
      }
      return closes;
    });
  });

  it('answer a client that half-closed after its request', async () => {
    await same(async (impl) => {
      const env = await start(impl);
      env.wsServer.on('request', (request) => setTimeout(() => request.reject(403, 'Later'), 50));
      const socket = rawClient(env);
      socket.write(upgradeRequest('/'));
      socket.end();
      await socketClosed(socket);
      return socket.received.toString('latin1').split('\r\n')[0];
    });
  });

  // The package reads nothing past the request (its handleUpgrade takes no `head`); the face,
  // like its other paths and ws, keeps frames a client sent before the 101.
  it('take the frames a client sends with the request, accepted at once or later', async () => {
    const env = await start(ferrows);
    env.wsServer.on('request', (request) => {
      const accept = () => {
        const connection = request.accept(null, request.origin);
        connection.on('message', (m) => connection.sendUTF(`re: ${m.utf8Data}`));
      };
      if (request.resource === '/later') setTimeout(accept, 20);
      else accept();
    });
    for (const path of ['/now', '/later']) {
      const client = await earlyClient(env.port, Buffer.concat([Buffer.from(upgradeRequest(path)), frame(1, path)]));
      const frames = () => parseFrames(client.received.subarray(client.received.indexOf('\r\n\r\n') + 4));
      await until(() => client.received.includes('\r\n\r\n') && frames().length === 1, 5000, 'the echo');
      expect(frames()[0].payload.toString()).toBe(`re: ${path}`);
      client.write(frame(1, 'more'));
      await until(() => frames().length === 2, 5000, 'the second echo');
      expect(frames()[1].payload.toString()).toBe('re: more');
      client.destroy();
    }
  });
});
