'use strict';

// Connections Node keeps (TLS) run over the engine's byte bridge: however they end, the
// socket must be released and the application told, on every face. Each scenario is a raw TLS
// client that ends the way real ones do.

const fs = require('fs');
const path = require('path');
const https = require('https');
const net = require('net');
const tls = require('tls');
const ferrows = require('..');
const { once, frame, upgradeRequest } = require('./helpers');

const TLS_OPTIONS = {
  key: fs.readFileSync(path.join(__dirname, 'fixtures', 'key.pem')),
  cert: fs.readFileSync(path.join(__dirname, 'fixtures', 'cert.pem')),
};
const CLOSE_TIMEOUT = 300;

/** Each face on an https.Server; `onClose(code)` hears each connection's end. */
const FACES = {
  native: (server, onClose) => {
    const wss = ferrows.attach(server, { closeTimeout: CLOSE_TIMEOUT, pingInterval: 0, idleTimeout: 0 });
    wss.on('connection', (ws) => ws.on('close', onClose));
    return () => wss.close();
  },
  ws: (server, onClose) => {
    const wss = new ferrows.WebSocketServer({ server, closeTimeout: CLOSE_TIMEOUT });
    wss.on('connection', (ws) => ws.on('close', onClose));
    return () => new Promise((resolve) => wss.close(resolve));
  },
  websocket: (server, onClose) => {
    const wss = new ferrows.server({ httpServer: server, autoAcceptConnections: true, closeTimeout: CLOSE_TIMEOUT, keepalive: false });
    wss.on('connect', (connection) => connection.on('close', onClose));
    return () => wss.shutDown();
  },
};

let server = null;
let stopFace = null;

afterEach(async () => {
  await stopFace?.();
  if (server?.listening) {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
  server = null;
  stopFace = null;
});

/**
 * Starts `face` on an https.Server and opens one upgraded TLS connection that keeps its side
 * open. Resolves with the raw TCP socket, the TLS client, the server's TLS socket and a
 * promise of the face's close code.
 */
async function open(face) {
  server = https.createServer(TLS_OPTIONS);
  let closed;
  const code = new Promise((resolve) => (closed = resolve));
  stopFace = FACES[face](server, (c) => closed(c));
  const accepted = once(server, 'secureConnection');
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const raw = net.connect({ port: server.address().port, host: '127.0.0.1', allowHalfOpen: true });
  raw.on('error', () => {});
  const client = tls.connect({ socket: raw, rejectUnauthorized: false, allowHalfOpen: true });
  client.on('error', () => {});
  await once(client, 'secureConnect');
  const [serverSocket] = await accepted;
  client.write(upgradeRequest('/'));
  const [reply] = await once(client, 'data');
  expect(reply.toString('latin1').split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
  return { raw, client, serverSocket, code };
}

describe.each(Object.keys(FACES))('%s face over TLS', (face) => {
  it('releases the socket of a client that answers the close but never ends its side', async () => {
    const { client, serverSocket, code } = await open(face);
    client.write(frame(0x8, Buffer.from([0x03, 0xe8, 0x62])));
    await once(serverSocket, 'close', CLOSE_TIMEOUT + 2000);
    expect(await code).toBe(1000);
    client.destroy();
  });

  it('closes with 1006 a connection whose TLS stream breaks after the upgrade', async () => {
    const { raw, client, serverSocket, code } = await open(face);
    raw.write(Buffer.from('not a TLS record\r\n'.repeat(4)));
    await once(serverSocket, 'close', 2000);
    expect(await code).toBe(1006);
    client.destroy();
  });
});
