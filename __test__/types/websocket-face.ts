// Server code written the way `@types/websocket` users write it, with only the module name
// changed to ferrows. It must compile under `strict`.

import * as http from 'http';
import { server as WebSocketServer, request, connection, router, IMessage } from 'ferrows';

const httpServer = http.createServer((_req, res) => {
  res.writeHead(404);
  res.end();
});
httpServer.listen(8080, '127.0.0.1', () => console.log('listening on 8080'));

const wsServer = new WebSocketServer({
  httpServer,
  // Applications should not accept every connection: check the origin in 'request'.
  autoAcceptConnections: false,
  maxReceivedFrameSize: 64 * 1024,
  maxReceivedMessageSize: 1024 * 1024,
  fragmentOutgoingMessages: true,
  fragmentationThreshold: 16 * 1024,
  keepalive: true,
  keepaliveInterval: 20000,
  dropConnectionOnKeepaliveTimeout: true,
  keepaliveGracePeriod: 10000,
  closeTimeout: 5000,
  disableNagleAlgorithm: true,
});

function originIsAllowed(origin: string): boolean {
  return origin === 'http://127.0.0.1:8080';
}

wsServer.on('request', (req: request) => {
  if (!originIsAllowed(req.origin)) {
    req.reject(403, 'Origin not allowed');
    console.log(`${new Date().toISOString()} connection from origin ${req.origin} rejected.`);
    return;
  }
  const protocols: string[] = req.requestedProtocols;
  const resource: string = req.resource;
  const conn: connection = req.accept(protocols.includes('echo-protocol') ? 'echo-protocol' : null, req.origin);
  console.log(`${new Date().toISOString()} connection accepted from ${conn.remoteAddress} for ${resource}`);

  conn.on('message', (message: IMessage) => {
    if (message.type === 'utf8' && message.utf8Data !== undefined) {
      conn.sendUTF(message.utf8Data);
    } else if (message.type === 'binary' && message.binaryData !== undefined) {
      conn.sendBytes(message.binaryData);
    }
  });
  conn.on('close', (reasonCode: number, description: string) => {
    console.log(`peer ${conn.remoteAddress} disconnected: ${reasonCode} ${description}`);
  });
  conn.on('error', (err: Error) => console.error(err.message));

  if (conn.connected) conn.send('welcome', (err?: Error) => err && console.error(err));
});

wsServer.on('connect', (conn: connection) => conn.sendUTF('hello'));
wsServer.on('close', (conn: connection, reason: number, description: string) => console.log(conn.remoteAddress, reason, description));

// Broadcast to everyone, and the bookkeeping the package exposes.
wsServer.broadcastUTF('to all');
wsServer.broadcast(Buffer.from('to all, binary'));
const open: connection[] = wsServer.connections;
console.log(open.length);

// The router, as in the package's examples.
const wsRouter = new router();
wsRouter.attachServer(wsServer);
wsRouter.mount('*', 'echo-protocol', (req) => {
  const conn = req.accept(req.origin);
  conn.on('message', (message: IMessage) => {
    if (message.type === 'utf8' && message.utf8Data) conn.sendUTF(message.utf8Data);
  });
});

process.on('SIGINT', () => {
  wsServer.shutDown();
  httpServer.close();
});
