'use strict';

// Any socket, never a crash (issue #13): an http.Server listening on a Unix domain socket (behind
// nginx or systemd) upgrades on every face as with `ws` and `websocket`, and handleUpgrade takes
// any Duplex, not only a net.Socket.

const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const { Duplex } = require('stream');
const WsClient = require('ws');
const ferrows = require('..');
const { IMPLEMENTATIONS } = require('./implementations');
const { once, connect } = require('./helpers');

/** A fresh socket path in the temporary directory. */
function socketPath(tag) {
  return path.join(os.tmpdir(), `ferrows-${tag}-${process.pid}-${Date.now()}.sock`);
}

describe.each(Object.keys(IMPLEMENTATIONS))('%s on a Unix socket', (name) => {
  let stop = null;

  afterEach(async () => {
    await stop?.();
    stop = null;
  });

  it('echoes a message and closes cleanly', async () => {
    const file = socketPath(name.replace(/\W+/g, '-'));
    const httpServer = http.createServer((req, res) => res.end('plain http'));
    const server = IMPLEMENTATIONS[name](httpServer, (conn) => conn.onMessage((data) => conn.send(data)));
    await new Promise((resolve) => httpServer.listen(file, resolve));
    stop = async () => {
      await server.stop();
      await new Promise((resolve) => httpServer.close(resolve));
      fs.rmSync(file, { force: true });
    };
    const client = new WsClient(`ws+unix://${file}:/chat`);
    await once(client, 'open');
    client.send('over a unix socket');
    const [data] = await once(client, 'message');
    expect(data.toString()).toBe('over a unix socket');
    client.close(1000, 'bye');
    const [code] = await once(client, 'close');
    expect(code).toBe(1000);
  });
});

/** A Duplex that is not a socket: it relays a real socket's bytes both ways. */
function relay(socket) {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  socket.on('data', (chunk) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  return duplex;
}

describe('handleUpgrade with a Duplex that is not a socket', () => {
  const faces = {
    'native face': (wrap) => {
      const wss = new ferrows.Server(null);
      wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
      return { upgrade: (req, socket, head) => wss.handleUpgrade(req, wrap(socket), head), close: () => wss.close() };
    },
    'ws face': (wrap) => {
      const wss = new ferrows.WebSocketServer({ noServer: true });
      const upgrade = (req, socket, head) =>
        wss.handleUpgrade(req, wrap(socket), head, (ws) => {
          ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
        });
      return { upgrade, close: () => new Promise((resolve) => wss.close(() => resolve())) };
    },
  };

  it.each(Object.keys(faces))('%s runs the connection over it', async (face) => {
    const server = faces[face](relay);
    const httpServer = http.createServer();
    httpServer.on('upgrade', server.upgrade);
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    try {
      const client = await connect(`ws://127.0.0.1:${httpServer.address().port}/`);
      client.send('through a Duplex');
      const [data] = await once(client, 'message');
      expect(data.toString()).toBe('through a Duplex');
      client.close();
      expect((await once(client, 'close'))[0]).toBe(1005);
    } finally {
      await server.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    }
  });
});

describe('a handoff the engine cannot take', () => {
  it('falls back to the bridge and the connection works', async () => {
    const httpServer = http.createServer();
    const wss = ferrows.attach(httpServer);
    // As when the process is out of file descriptors: the descriptor cannot be duplicated.
    const native = wss._engine._native;
    native.accept = () => {
      throw new Error('socket handoff failed: Too many open files (os error 24)');
    };
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    try {
      const client = await connect(`ws://127.0.0.1:${httpServer.address().port}/`);
      client.send('still served');
      const [data] = await once(client, 'message');
      expect(data.toString()).toBe('still served');
      client.close();
      await once(client, 'close');
    } finally {
      await wss.close();
      await new Promise((resolve) => httpServer.close(resolve));
    }
  });
});
