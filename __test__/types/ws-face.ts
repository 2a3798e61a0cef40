// Server code written the way `ws` users write it (with `@types/ws`-style types), with only the
// module name changed to ferrows. It must compile under `strict`.

import * as http from 'http';
import type { IncomingMessage } from 'http';
import type { Duplex } from 'stream';
import { WebSocketServer, WebSocket, WsSocket, createWebSocketStream } from 'ferrows';

const server = http.createServer();
const wss = new WebSocketServer({
  server,
  path: '/ws',
  maxPayload: 1024 * 1024,
  clientTracking: true,
  perMessageDeflate: false,
  verifyClient: (info, done) => done(info.origin !== 'http://evil.example', 403),
  handleProtocols: (protocols: Set<string>) => (protocols.has('chat') ? 'chat' : false),
});

wss.on('connection', (ws, req: IncomingMessage) => {
  const ip = req.socket.remoteAddress;
  ws.on('error', console.error);
  ws.on('message', (data, isBinary: boolean) => {
    // The chat of ws's README: relay to every other open client.
    wss.clients.forEach((client) => {
      if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
  });
  ws.on('close', (code: number, reason: Buffer) => console.log(ip, code, reason.toString()));
  ws.send('something');
  ws.ping();
});

// Several servers on one http server, routed by the application ('noServer' mode).
const chat = new WebSocketServer({ noServer: true });
server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  if (pathname === '/chat') {
    chat.handleUpgrade(req, socket, head, (ws) => chat.emit('connection', ws, req));
  } else if (!wss.shouldHandle(req)) {
    socket.destroy();
  }
});

server.listen(8080, '127.0.0.1');

process.on('SIGTERM', () => {
  wss.close((err?: Error) => {
    if (err) console.error(err);
    server.close();
  });
});

// ws's `WebSocket` option, with the face's class as the base, and pings left to the application.
class Session extends WsSocket {
  user = 'anonymous';
  constructor(...args: any[]) {
    super(...args);
  }
  greet(): void {
    this.send(`hello ${this.user}`);
  }
}
const sessions = new WebSocketServer({ noServer: true, WebSocket: Session, autoPong: false });
sessions.on('connection', (ws) => {
  ws.on('ping', (data: Buffer) => ws.pong(data));
  if (ws instanceof Session) ws.greet();
});

// ws's README form: the module's default import is the connection class, with the server as a
// static and the states on it.
import WebSocketModule, { WebSocketServer as FaceServer } from 'ferrows/ws';
const classic = new WebSocketModule.Server({ noServer: true });
const named: FaceServer = new WebSocketModule.WebSocketServer({ noServer: true });
classic.on('connection', (ws) => {
  named.clients.forEach((client) => {
    if (client !== ws && client.readyState === WebSocketModule.OPEN) client.send('joined');
  });
});

// ws's createWebSocketStream: a Duplex over a connection.
wss.on('connection', (ws) => {
  const duplex: Duplex = createWebSocketStream(ws, { allowHalfOpen: false });
  duplex.pipe(duplex);
});
