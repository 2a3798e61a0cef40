// A typed application on ferrows's native face. It must compile under `strict`; the
// `@ts-expect-error` lines must not (each is a mistake the types have to catch).

import * as http from 'http';
import ferrows from 'ferrows';
import { attach, AttachOptions, Data, ProtocolError, Server, UpgradeRequest, VerifyClientInfo, WebSocket } from 'ferrows';

const options: AttachOptions = {
  path: '/ws',
  maxPayload: 64 * 1024,
  maxFrame: 16 * 1024,
  pingInterval: 30_000,
  idleTimeout: 60_000,
  closeTimeout: 5_000,
  highWaterMark: 1 << 20,
  maxBackpressure: 16 << 20,
  maxInboundPending: 4 << 20,
  fragmentationThreshold: 0,
  noDelay: true,
  // The parameter is annotated because index.d.ts types verifyClient as a union of two function
  // types, which gives an unannotated parameter no contextual type (TS7006 under strict).
  verifyClient: (info: VerifyClientInfo) => info.origin === undefined || info.origin === 'http://127.0.0.1:8080',
  handleProtocols: (protocols: Set<string>) => (protocols.has('chat.v1') ? 'chat.v1' : false),
};

const server = http.createServer((_req, res) => res.end('ok'));
const wss: Server = attach(server, options);
// The default import (`import WebSocket from 'ferrows'` in ESM) is the whole module.
const sameAttach: boolean = ferrows.attach === attach;
console.log(sameAttach);

// Scale-out through one Redis, or through a Redis Cluster.
attach(server, { path: '/one-redis', redis: 'redis://127.0.0.1:6379/0', redisPrefix: 'app' });
attach(server, { path: '/cluster', redis: { cluster: ['redis://127.0.0.1:7000', 'redis://127.0.0.1:7001'] } });

// The callback form of verifyClient, as in ws, and an async one.
attach(server, {
  path: '/callback',
  verifyClient: (info, done) => done(info.secure, 403, 'Forbidden', { 'X-Reason': 'tls only' }),
});
attach(server, { path: '/async', verifyClient: async ({ req }: VerifyClientInfo) => req.headers.authorization !== undefined });

interface ChatMessage {
  type: 'chat';
  text: string;
}

function isChat(value: unknown): value is ChatMessage {
  return typeof value === 'object' && value !== null && (value as ChatMessage).type === 'chat';
}

wss.on('connection', (ws: WebSocket, req: UpgradeRequest) => {
  const who: string = `${ws.remoteAddress ?? '?'}:${ws.remotePort ?? 0} ${req.url ?? ''} ${req.headers.origin ?? ''}`;
  // @ts-expect-error the light request is no stream
  req.on('data', () => {});
  const protocol: string = ws.protocol;
  ws.subscribe('room:lobby');
  const topics: string[] = ws.topics;
  const subscribed: boolean = ws.isSubscribed('room:lobby');

  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      const bytes: Buffer = data as Buffer;
      ws.send(bytes);
      return;
    }
    const text: string = data.toString();
    const parsed: unknown = JSON.parse(text);
    if (isChat(parsed)) {
      const reached: number = ws.publish('room:lobby', JSON.stringify(parsed));
      void reached;
    }
  });
  ws.on('close', (code: number, reason: string) => console.log(who, code, reason));
  ws.on('error', (err: ProtocolError) => console.log(err.code, err.closeCode));
  ws.on('ping', (payload: Buffer) => ws.pong(payload));
  ws.once('drain', () => ws.send('resumed'));

  const ok: boolean = ws.send('welcome');
  if (!ok && ws.bufferedAmount > 0) ws.once('drain', () => undefined);
  ws.send(new Uint8Array([1, 2, 3]));
  ws.send(new ArrayBuffer(8));
  ws.send(new DataView(new ArrayBuffer(2)));
  if (ws.readyState === WebSocket.OPEN && ws.readyState === ws.OPEN) ws.ping();
  console.log(protocol, topics, subscribed);

  // @ts-expect-error: only strings and binary data can be sent
  ws.send({ text: 'objects are not sent' });
  // @ts-expect-error: readyState is read-only
  ws.readyState = 3;
});

wss.on('error', (err: Error) => console.error(err.message));
wss.on('close', () => console.log('closed'));

const payload: Data = Buffer.from('tick');
const everyone: number = wss.broadcast(payload);
const others: number = wss.broadcast('hi', { except: [...wss.clients][0] });
const subscribers: number = wss.subscribers('room:lobby') + wss.topicCount;
const published: number = wss.publish('room:lobby', 'news', { except: undefined });
console.log(everyone, others, subscribers, published, wss.path, wss.clients.size);

// Raw upgrade handling for code that owns the 'upgrade' event.
const manual = attach(http.createServer());
http.createServer().on('upgrade', (req, socket, head) => {
  if (manual.shouldHandle(req)) manual.handleUpgrade(req, socket, head);
  else socket.destroy();
});

async function shutdown(): Promise<void> {
  await wss.close();
  wss.close((err?: Error) => console.log('closed again', err));
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

server.listen(8080, '127.0.0.1', () => void shutdown());

// @ts-expect-error: maxPayload is a number of bytes
attach(server, { maxPayload: '1mb' });
// @ts-expect-error: unknown options are refused (the runtime throws a TypeError too)
attach(server, { maxPayLoad: 1024 });
// @ts-expect-error: attach needs an http(s) server
attach({ port: 8080 });

// ws's noServer: a server of one's own upgrades, given them by one's own 'upgrade' listener.
const own = new Server(null, { maxPayload: 1024 });
http.createServer().on('upgrade', (req, socket, head) => {
  if (own.shouldHandle(req)) own.handleUpgrade(req, socket, head);
});
own.on('redisReconnect', (attempt: number, reason: string) => console.log(attempt, reason));
