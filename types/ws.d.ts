// Types of the ws face (lib/compat/ws.js): ws 8's server API over the Rust engine.
// See README, "Drop-in for ws" for what differs from ws.

/// <reference types="node" />
import { EventEmitter } from 'events';
import type { IncomingMessage, Server as HttpServer } from 'http';
import type { Server as HttpsServer } from 'https';
import type { AddressInfo } from 'net';
import type { Duplex, DuplexOptions } from 'stream';

/** A received message: a Buffer, or per `binaryType` an ArrayBuffer, Buffer[] or Blob. */
export type WsRawData = Buffer | ArrayBuffer | Buffer[] | import('buffer').Blob;

/** What `send`, `ping` and `pong` take (numbers are sent as their decimal text, as ws does). */
export type WsSendData =
  | string
  | number
  | Buffer
  | ArrayBuffer
  | SharedArrayBuffer
  | ArrayBufferView
  | Blob
  | import('buffer').Blob
  | readonly any[];

export interface WsVerifyClientInfo {
  /**
   * `Origin` (`Sec-WebSocket-Origin` for protocol version 8). Undefined when the client sent
   * none, as in ws; typed `string` as @types/ws types it, so that ws-typed callbacks compile.
   */
  origin: string;
  /** Whether the request came over TLS. */
  secure: boolean;
  req: IncomingMessage;
}

export type WsVerifyClientDone = (
  result: boolean,
  code?: number,
  message?: string,
  headers?: Record<string, string | number | string[]>
) => void;

/** Callback of send/ping/pong: null once written, an Error if not. (Method form: bivariant, so ws-typed callbacks fit.) */
export type WsWriteCallback = { bivarianceHack(err?: Error | null): void }['bivarianceHack'];

/** Options of `new WebSocketServer()`: ws 8's, plus ferrows's backpressure bounds. */
export interface WebSocketServerOptions<T extends typeof WsSocket = typeof WsSocket, U extends typeof IncomingMessage = typeof IncomingMessage> {
  /** Port of an http server made for this WebSocket server (answers plain HTTP with 426). */
  port?: number;
  /** Host that server binds. */
  host?: string;
  /** Listen backlog of that server. @default 511 */
  backlog?: number;
  /** An existing http or https server whose upgrades to take. */
  server?: HttpServer<U> | HttpsServer<U>;
  /** Take no server: call `handleUpgrade` yourself. @default false */
  noServer?: boolean;
  /** Only this pathname (query ignored); other paths get 400. */
  path?: string;
  /**
   * Accept or refuse a client before the 101: `(info) => boolean`, or `(info, done)` calling
   * `done(result, code = 401, message, headers)`.
   */
  verifyClient?(info: WsVerifyClientInfo, done: WsVerifyClientDone): boolean | void;
  /** Choose one of the offered subprotocols; a falsy value chooses none. @default the first offered */
  handleProtocols?: (protocols: Set<string>, req: IncomingMessage) => string | false | null | undefined;
  /** Keep `wss.clients`. @default true */
  clientTracking?: boolean;
  /** Largest message accepted, in bytes (0: no limit, up to 2^31-1); larger ones fail with 1009. @default 104857600 */
  maxPayload?: number;
  /** Milliseconds to wait for the client's close frame after `close()`. @default 30000 */
  closeTimeout?: number;
  /**
   * ws's permessage-deflate option, with ws's defaults (context takeover both ways); compression
   * runs in Rust. `concurrencyLimit`, `zlibInflateOptions` and zlib options other than `level`
   * and `memLevel` are accepted and ignored. @default false
   */
  perMessageDeflate?: boolean | WsPerMessageDeflateOptions;
  /** Accepted for ws compatibility; UTF-8 is always validated. @default false */
  skipUTF8Validation?: boolean;
  /** Accepted for ws compatibility (messages are delivered as they arrive). @default true */
  allowSynchronousEvents?: boolean;
  /** false: the engine does not answer pings; answer them with `ws.pong(data)` in 'ping'. @default true */
  autoPong?: boolean;
  /** Accepted for ws compatibility; the engine bounds frames by maxPayload. */
  maxBufferedChunks?: number;
  /** Accepted for ws compatibility; the engine bounds messages by maxPayload. */
  maxFragments?: number;
  /** Automatic pongs not yet written past which the client is cut (1006), as in ws; 0: never. @default 60 */
  maxPendingAutoPongs?: number;
  /**
   * The class of the connections: `WsSocket` or a class that extends it (ws's own WebSocket
   * class is refused). @default WsSocket
   */
  WebSocket?: T;
  /** ferrows: queued outbound bytes above which the connection is closed with 1008. @default 16777216 */
  maxBackpressure?: number;
  /** ferrows: received bytes waiting for JavaScript above which the socket is not read. @default 4194304 */
  maxInboundPending?: number;
}

/** ws's `perMessageDeflate` settings, as the engine honours them. */
export interface WsPerMessageDeflateOptions {
  /**
   * Messages smaller than this many bytes go uncompressed on connections without context
   * takeover; with it, every message is compressed (as in ws). @default 1024
   */
  threshold?: number;
  /** true: compress each message from an empty window (no compressor per connection). @default false */
  serverNoContextTakeover?: boolean;
  /** true: ask clients to do the same (no decompressor per connection). @default false */
  clientNoContextTakeover?: boolean;
  /** The largest window the server compresses with, 8 (zlib's 9) to 15 (booleans are ignored). */
  serverMaxWindowBits?: number | boolean;
  /**
   * The largest window asked of clients, 8 to 15 (booleans are ignored); an offer without the
   * parameter is then passed over.
   */
  clientMaxWindowBits?: number | boolean;
  /** zlib's `level` (-1, zlib's default, or 0 to 9) and `memLevel` (1 to 9); other keys are ignored. */
  zlibDeflateOptions?: { level?: number; memLevel?: number; [other: string]: unknown };
  /** Ignored: inflation runs in Rust. */
  zlibInflateOptions?: Record<string, unknown>;
  /** Ignored: compression runs on the engine's threads, not Node's threadpool. */
  concurrencyLimit?: number;
}

export interface WsSendOptions {
  /** Send as binary; by default strings are text and everything else binary. */
  binary?: boolean;
  /** false: a part of a message; the parts are joined and sent with the last one. @default true */
  fin?: boolean;
  /** false: send this message uncompressed where permessage-deflate was agreed. @default true */
  compress?: boolean;
  /** Ignored (a server does not mask). */
  mask?: boolean;
}

/** An error of a connection the server failed, shaped as ws's (RangeError or Error). */
export interface WsError extends Error {
  /** ws's `WS_ERR_*` code, or ferrows's `WS_ERR_BACKPRESSURE`. */
  code: string;
  /** The close code sent to the client. */
  closeCode?: number;
}

export interface WsEvent {
  readonly type: string;
  readonly target: WsSocket;
}

export interface WsMessageEvent extends WsEvent {
  /** Text messages as strings, binary ones per `binaryType`. */
  readonly data: string | WsRawData;
}

export interface WsCloseEvent extends WsEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

export interface WsErrorEvent extends WsEvent {
  readonly error: WsError;
  readonly message: string;
}

export type WsEventListener<E> = ((event: E) => void) | { handleEvent(event: E): void };

/** A connection of the ws face: ws's server-side WebSocket API, over a socket Rust owns. */
export declare class WsSocket extends EventEmitter {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;

  /** Called by the server (a subclass passes its arguments on); applications do not construct it. */
  constructor(...args: any[]);

  /** How binary messages are delivered. @default 'nodebuffer' */
  binaryType: 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
  /** Bytes queued and not yet written (plus what was sent after close, as in ws). */
  readonly bufferedAmount: number;
  /** Always '' (no extension is negotiated). */
  readonly extensions: string;
  readonly isPaused: boolean;
  /** The chosen subprotocol, or ''. */
  readonly protocol: string;
  readonly readyState: 0 | 1 | 2 | 3;
  /** Undefined on server sockets. */
  readonly url: string | undefined;

  onopen: ((event: WsEvent) => void) | null;
  onmessage: ((event: WsMessageEvent) => void) | null;
  onclose: ((event: WsCloseEvent) => void) | null;
  onerror: ((event: WsErrorEvent) => void) | null;

  /** Sends a message; `cb` runs once it is written, or with an error when not open. */
  send(data: WsSendData, cb?: WsWriteCallback): void;
  send(data: WsSendData, options: WsSendOptions, cb?: WsWriteCallback): void;
  /** Sends a ping (at most 125 bytes). */
  ping(data?: WsSendData, mask?: boolean, cb?: WsWriteCallback): void;
  ping(cb: WsWriteCallback): void;
  /** Sends a pong (at most 125 bytes). */
  pong(data?: WsSendData, mask?: boolean, cb?: WsWriteCallback): void;
  pong(cb: WsWriteCallback): void;
  /**
   * Starts the closing handshake; without a code the close frame is empty (the client sees 1005).
   * @param code 1000-1003, 1007-1014 or 3000-4999
   * @param reason at most 123 bytes
   */
  close(code?: number, reason?: string | Buffer): void;
  /** Destroys the connection at once; 'close' follows with 1006. */
  terminate(): void;
  /** Stops reading from the client until `resume()`. */
  pause(): void;
  resume(): void;

  addEventListener(type: 'message', listener: WsEventListener<WsMessageEvent>, options?: { once?: boolean }): void;
  addEventListener(type: 'close', listener: WsEventListener<WsCloseEvent>, options?: { once?: boolean }): void;
  addEventListener(type: 'error', listener: WsEventListener<WsErrorEvent>, options?: { once?: boolean }): void;
  addEventListener(type: 'open', listener: WsEventListener<WsEvent>, options?: { once?: boolean }): void;
  removeEventListener(type: 'message' | 'close' | 'error' | 'open', listener: WsEventListener<any>): void;

  on(event: 'message', listener: (this: WsSocket, data: WsRawData, isBinary: boolean) => void): this;
  on(event: 'close', listener: (this: WsSocket, code: number, reason: Buffer) => void): this;
  on(event: 'ping' | 'pong', listener: (this: WsSocket, data: Buffer) => void): this;
  on(event: 'error', listener: (this: WsSocket, err: WsError) => void): this;
  on(event: string | symbol, listener: (this: WsSocket, ...args: any[]) => void): this;
  once(event: 'message', listener: (this: WsSocket, data: WsRawData, isBinary: boolean) => void): this;
  once(event: 'close', listener: (this: WsSocket, code: number, reason: Buffer) => void): this;
  once(event: 'ping' | 'pong', listener: (this: WsSocket, data: Buffer) => void): this;
  once(event: 'error', listener: (this: WsSocket, err: WsError) => void): this;
  once(event: string | symbol, listener: (this: WsSocket, ...args: any[]) => void): this;
  off(event: string | symbol, listener: (this: WsSocket, ...args: any[]) => void): this;
}

/**
 * ws 8's `WebSocketServer`. Events: connection, headers, error, close, listening, wsClientError.
 */
export declare class WebSocketServer<T extends typeof WsSocket = typeof WsSocket, U extends typeof IncomingMessage = typeof IncomingMessage> extends EventEmitter {
  /** @param callback a 'listening' listener of the server made for `port` */
  constructor(options: WebSocketServerOptions<T, U>, callback?: () => void);
  /** The options with ws's defaults filled in. */
  readonly options: WebSocketServerOptions<T, U>;
  /** Open connections (undefined at runtime when `clientTracking` is false). */
  clients: Set<InstanceType<T>>;
  /** The bound address of the server made for `port` or given; null once closed. Throws in noServer mode. */
  address(): AddressInfo | string | null;
  /**
   * Stops accepting connections; existing clients stay open. 'close' follows once tracked
   * clients have gone; an own server is closed. Called again after 'close', `cb` gets an error.
   */
  close(cb?: (err?: Error) => void): void;
  /** Completes (or refuses) an upgrade, then calls `callback(ws, req)`. */
  handleUpgrade(
    req: InstanceType<U>,
    socket: Duplex,
    head: Buffer,
    callback: (ws: InstanceType<T>, req: InstanceType<U>) => void
  ): void;
  /**
   * Whether this server takes the request (its `path`, when set, matches). Typed as @types/ws
   * types it: a returned Promise counts as true, as in ws.
   */
  shouldHandle(req: InstanceType<U>): boolean | Promise<boolean>;

  on(event: 'connection', listener: (this: WebSocketServer<T, U>, ws: InstanceType<T>, req: InstanceType<U>) => void): this;
  on(event: 'headers', listener: (this: WebSocketServer<T, U>, headers: string[], req: InstanceType<U>) => void): this;
  on(event: 'error', listener: (this: WebSocketServer<T, U>, err: Error) => void): this;
  on(event: 'close' | 'listening', listener: (this: WebSocketServer) => void): this;
  on(event: 'wsClientError', listener: (this: WebSocketServer<T, U>, err: Error, socket: Duplex, req: InstanceType<U>) => void): this;
  on(event: string | symbol, listener: (this: WebSocketServer<T, U>, ...args: any[]) => void): this;
  once(event: 'connection', listener: (this: WebSocketServer<T, U>, ws: InstanceType<T>, req: InstanceType<U>) => void): this;
  once(event: 'headers', listener: (this: WebSocketServer<T, U>, headers: string[], req: InstanceType<U>) => void): this;
  once(event: 'error', listener: (this: WebSocketServer<T, U>, err: Error) => void): this;
  once(event: 'close' | 'listening', listener: (this: WebSocketServer) => void): this;
  once(event: 'wsClientError', listener: (this: WebSocketServer<T, U>, err: Error, socket: Duplex, req: InstanceType<U>) => void): this;
  once(event: string | symbol, listener: (this: WebSocketServer<T, U>, ...args: any[]) => void): this;
  off(event: string | symbol, listener: (this: WebSocketServer<T, U>, ...args: any[]) => void): this;
}

/**
 * ws's `createWebSocketStream`: a Duplex over a connection. Messages are read as chunks (the
 * connection pauses while the readable side is full), writes are sends, `end()` closes the
 * connection and `destroy()` terminates it.
 */
export declare function createWebSocketStream(websocket: WsSocket, options?: DuplexOptions): Duplex;
