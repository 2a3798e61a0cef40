// Type definitions for ferrows, hand-written: the engine's native classes are internal and have
// no public types.

/// <reference types="node" />
import { EventEmitter } from 'events';
import type { IncomingHttpHeaders, IncomingMessage, Server as HttpServer } from 'http';
import type { Server as HttpsServer } from 'https';
import type { Duplex } from 'stream';

export type Data = string | Buffer | ArrayBuffer | ArrayBufferView;

/**
 * The upgrade request as `'connection'`, `verifyClient`, `handleProtocols` and `shouldHandle`
 * see it. Taken by the Rust-first intake, it is a light object with these fields, parsed when
 * read; on Node's path (TLS servers, `intake: false`, a request split over packets, a decision
 * taken later) it is Node's `IncomingMessage`, which has them too. Code that needs more than
 * this (`req.on`, `req.socket.destroy()`) sets `intake: false`.
 */
export interface UpgradeRequest {
  method?: string;
  url?: string;
  httpVersion: string;
  httpVersionMajor: number;
  httpVersionMinor: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  socket: {
    remoteAddress?: string;
    remotePort?: number;
    remoteFamily?: string;
    localAddress?: string;
    localPort?: number;
  };
}

export interface VerifyClientInfo {
  origin: string | undefined;
  secure: boolean;
  req: UpgradeRequest;
}

export type VerifyClientCallback = (
  result: boolean,
  code?: number,
  message?: string,
  headers?: Record<string, string | string[]>
) => void;

/** Options of `attach()`. Limits are enforced in Rust. */
export interface AttachOptions {
  /** Only upgrade requests for this pathname (query ignored). Others go to other listeners, or get 400. */
  path?: string;
  /**
   * Accept or refuse a client before the 101. Sync (return a boolean), async (return a Promise),
   * or ws's callback form `(info, cb)`. Refusals answer `code` (401 by default).
   */
  verifyClient?: (info: VerifyClientInfo, callback: VerifyClientCallback) => boolean | Promise<boolean> | void;
  /**
   * Choose a subprotocol among those the client offered; return false for none. Without it the
   * first offered protocol is chosen (as `ws` does).
   */
  handleProtocols?: (protocols: Set<string>, req: UpgradeRequest) => string | false | Promise<string | false>;
  /**
   * Answer plain upgrades before Node's HTTP parser (no IncomingMessage; the 'connection' `req`
   * is a light object parsed when read), on plain TCP servers; every other request reaches Node
   * as before. With `verifyClient` or `handleProtocols` they run first, on the same light
   * request; decided later than at once, the connection becomes a `net.Socket` then. While the application does not listen to the http server's 'connection'
   * event (nor sets `maxConnections`), upgrades decided at once never become a `net.Socket`.
   * @default true
   */
  intake?: boolean;
  /**
   * Milliseconds `verifyClient` / `handleProtocols` may keep a client waiting before it is
   * answered 408 (before the upgrade, the http server's `headersTimeout` applies); 0 disables.
   * @default 10000
   */
  handshakeTimeout?: number;
  /** Largest message accepted, in bytes; larger ones close the connection with 1009. @default 1048576 */
  maxPayload?: number;
  /** Largest single frame accepted, in bytes. @default maxPayload */
  maxFrame?: number;
  /** Milliseconds between server pings; 0 disables. @default 30000 */
  pingInterval?: number;
  /** Drop a connection silent for this many milliseconds (at most a quarter `pingInterval` later, or a quarter of itself without pings), with 1006; 0 disables. @default 60000 */
  idleTimeout?: number;
  /** Milliseconds to wait for the peer's close frame and for queued bytes to drain. @default 5000 */
  closeTimeout?: number;
  /** Buffered bytes above which `send` returns false and 'drain' follows. @default 1048576 */
  highWaterMark?: number;
  /**
   * Buffered bytes above which the connection counts as backed up. A send is never refused for its
   * size; above this bound the peer is no longer read, and if its socket then takes no byte for
   * `sendTimeout` the connection is closed with 1008. @default 16777216
   */
  maxBackpressure?: number;
  /**
   * How long (ms) a connection backed up past `maxBackpressure` may go without its socket taking a
   * byte before it is closed with 1008. A client that reads, however slowly, is never cut. @default 30000
   */
  sendTimeout?: number;
  /** Received bytes waiting for JavaScript above which the socket is no longer read. @default 4194304 */
  maxInboundPending?: number;
  /** Split outgoing messages into frames of at most this many bytes; 0 never splits. @default 0 */
  fragmentationThreshold?: number;
  /** Disable Nagle's algorithm on WebSocket sockets. @default true */
  noDelay?: boolean;
  /**
   * Answer every ping with a pong. With false the application answers pings itself (`ws.pong()` in
   * a 'ping' listener), as `ws`'s `autoPong: false`. @default true
   */
  autoPong?: boolean;
  /**
   * Automatic pongs not yet written (the client pings faster than it reads) past which the
   * client is cut with 1006, as `ws`'s option of that name; 0: never. @default 60
   */
  maxPendingAutoPongs?: number;
  /**
   * permessage-deflate (RFC 7692) for clients that offer it: `true` for the defaults, or settings.
   * Compression runs in Rust on the engine's threads. @default false
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Scale-out: a Redis URL (`redis://[:password@]host:port/db`), or `{ cluster }` for a Redis Cluster
   * (Redis 7+, sharded pub/sub). `publish` and `broadcast` then also reach the clients of every
   * server with the same `redisPrefix`, at most once (see README, "Scaling out"). Redis being
   * unreachable never stops local delivery; the server reports it with 'error'.
   */
  redis?: string | RedisClusterOptions;
  /** Scale-out: the servers sharing this prefix form one application. @default 'ferrows' */
  redisPrefix?: string;
}

/** A Redis Cluster for scale-out: topics spread over its shards by slot. */
export interface RedisClusterOptions {
  /** URLs (`redis://[:password@]host:port`) of some of the cluster's nodes; the rest are discovered. */
  cluster: string[];
}

/**
 * permessage-deflate's settings. The defaults keep no zlib state per connection: both sides
 * compress each message from an empty window, and a broadcast is compressed once for everyone.
 */
export interface PerMessageDeflateOptions {
  /** Messages smaller than this many bytes go uncompressed. @default 1024 */
  threshold?: number;
  /**
   * false: a connection that keeps its compression context compresses every message, whatever
   * `threshold` says (ws's rule). @default true
   */
  thresholdWithTakeover?: boolean;
  /** zlib's compression level, 0 to 9. @default 1 */
  level?: number;
  /** zlib's memLevel, 1 to 9. @default 8 */
  memLevel?: number;
  /** Compress each message from an empty window (false: a compressor per connection). @default true */
  serverNoContextTakeover?: boolean;
  /** Ask clients to do the same (false: a decompressor per connection). @default true */
  clientNoContextTakeover?: boolean;
  /** The largest window the server compresses with, 9 to 15. @default 15 */
  serverMaxWindowBits?: number;
  /**
   * The largest window asked of the client, 8 to 15; below 15, an offer without the parameter is
   * passed over. @default 15
   */
  clientMaxWindowBits?: number;
}

/** An error from a connection the server failed; `code` is one of ws's `WS_ERR_*` codes. */
export interface ProtocolError extends Error {
  code:
    | 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
    | 'WS_ERR_INVALID_UTF8'
    | 'WS_ERR_EXPECTED_MASK'
    | 'WS_ERR_UNEXPECTED_RSV_1'
    | 'WS_ERR_UNEXPECTED_RSV_2_3'
    | 'WS_ERR_EXPECTED_FIN'
    | 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'
    | 'WS_ERR_INVALID_CLOSE_CODE'
    | 'WS_ERR_INVALID_OPCODE'
    | 'WS_ERR_BACKPRESSURE'
    /** Compressed data that does not inflate (the code `ws` reports, zlib's). */
    | 'Z_DATA_ERROR';
  /** The close code sent to the client. */
  closeCode: number;
}

/** One connection. Events: message, close, drain, ping, pong, error. */
export declare class WebSocket extends EventEmitter {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  /** 1 open, 2 closing, 3 closed (after 'close'). */
  readonly readyState: 0 | 1 | 2 | 3;
  /** Bytes queued in Rust and not yet written to the socket (what the job sent is written first). */
  readonly bufferedAmount: number;
  /** The chosen subprotocol, or ''. */
  readonly protocol: string;
  /** 'permessage-deflate' when the connection agreed it, else ''. */
  readonly extensions: string;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /**
   * Sends a string as text, anything binary as binary. Returns false when the buffer is above
   * `highWaterMark` (wait for 'drain') or the connection is not open (nothing was queued).
   * `compress: false` sends it uncompressed where permessage-deflate was agreed.
   */
  send(data: Data, options?: { compress?: boolean }): boolean;
  /** Sends a ping (payload at most 125 bytes); false, sending nothing, once the connection is not open. */
  ping(data?: Data): boolean;
  /** Sends a pong, as `ping`. */
  pong(data?: Data): boolean;
  /** Subscribes to a topic (see `Server.publish`); false when already subscribed or closed. */
  subscribe(topic: string): boolean;
  /** False when not subscribed. */
  unsubscribe(topic: string): boolean;
  isSubscribed(topic: string): boolean;
  /** The topics this connection subscribes to. */
  readonly topics: string[];
  /** Sends to every subscriber of `topic` except this connection; returns the count. */
  publish(topic: string, data: Data): number;
  /** Starts the closing handshake. @param code 1000-1003, 1007-1014 or 3000-4999 (default 1000) */
  close(code?: number, reason?: string | Buffer): void;
  /** Destroys the connection at once; 'close' follows with 1006. */
  terminate(): void;
  /**
   * Stops reading from the client: 'message', 'ping' and 'pong' wait until `resume()` (in order;
   * all of them before 'close'). The client's sends then back up in TCP.
   */
  pause(): void;
  resume(): void;
  /** Whether `pause()` is in effect. */
  readonly isPaused: boolean;

  on(event: 'message', listener: (data: string | Buffer, isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number, reason: string) => void): this;
  on(event: 'drain', listener: () => void): this;
  on(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  on(event: 'error', listener: (err: ProtocolError) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'message', listener: (data: string | Buffer, isBinary: boolean) => void): this;
  once(event: 'close', listener: (code: number, reason: string) => void): this;
  once(event: 'drain', listener: () => void): this;
  once(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  once(event: 'error', listener: (err: ProtocolError) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

export interface BroadcastOptions {
  /** A connection that must not receive the message (usually the sender). */
  /** A connection of this server to leave out (one of another server's leaves nobody out). */
  except?: WebSocket;
}

/** The server `attach()` returns. Events: connection, error, close. */
export declare class Server extends EventEmitter {
  /** Open connections. */
  readonly clients: Set<WebSocket>;
  readonly path: string | undefined;
  /**
   * A server of your own upgrades: `new Server(null, options)` takes none by itself (ws's
   * `noServer`); your 'upgrade' listener calls `handleUpgrade`. `attach()` makes one with an
   * http server, whose upgrades to its path it takes before any 'upgrade' listener of yours.
   */
  constructor(httpServer: HttpServer | null, options?: AttachOptions);
  /** Whether this server takes the request (its path matches); override it to route otherwise. */
  shouldHandle(req: UpgradeRequest): boolean;
  /** Completes the upgrade of a server made with `new Server(null, options)`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Sends one message to every open connection, framed once and fanned out in Rust. Returns the count. */
  broadcast(data: Data, options?: BroadcastOptions): number;
  /** Sends to every subscriber of `topic` (but `options.except`), framed once in Rust; returns the count. */
  publish(topic: string, data: Data, options?: BroadcastOptions): number;
  /** How many connections subscribe to `topic`. */
  subscribers(topic: string): number;
  /** How many topics have at least one subscriber. */
  readonly topicCount: number;
  /** With `redis`: messages not forwarded to the other nodes (queue full, or Redis down). */
  readonly redisDropped: number;
  /**
   * Scale-out: topics this server receives from Redis, one channel each (the topics with a
   * subscriber here, once their subscription has reached Redis); 0 without `redis`.
   */
  readonly redisSubscriptions: number;
  /** Closes every connection with 1001, waits for them, detaches, releases. Idempotent. */
  close(callback?: (err?: Error) => void): Promise<void>;

  on(event: 'connection', listener: (ws: WebSocket, req: UpgradeRequest) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'close', listener: () => void): this;
  /** Scale-out: connected and subscribed to Redis (at start and after each reconnect). */
  on(event: 'redisReady', listener: () => void): this;
  /** Scale-out: Redis is unreachable; `attempt` counts from 1 per outage, `reason` is the last failure. */
  on(event: 'redisReconnect', listener: (attempt: number, reason: string) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'connection', listener: (ws: WebSocket, req: UpgradeRequest) => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'close', listener: () => void): this;
  /** Scale-out: connected and subscribed to Redis (at start and after each reconnect). */
  once(event: 'redisReady', listener: () => void): this;
  /** Scale-out: Redis is unreachable; `attempt` counts from 1 per outage, `reason` is the last failure. */
  once(event: 'redisReconnect', listener: (attempt: number, reason: string) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** Attaches a WebSocket server to your http (or https) server; WebSockets share its port. */
export declare function attach(httpServer: HttpServer | HttpsServer, options?: AttachOptions): Server;

export * from './types/websocket';
export * from './types/ws';
