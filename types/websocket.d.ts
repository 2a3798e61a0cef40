// Types of the websocket package's face (lib/compat/websocket): the server side of
// WebSocket-Node 1.0.35, with the names and shapes `@types/websocket` gives them.

/// <reference types="node" />
import { EventEmitter } from 'events';
import type { IncomingMessage, Server as HttpServer } from 'http';
import type { Server as HttpsServer } from 'https';
import type { Socket } from 'net';
import type { UrlWithParsedQuery } from 'url';

/** The config of `new server(config)` / `server.mount(config)`. Limits and timers are enforced in Rust. */
export interface IServerConfig {
  /** The http(s) server(s) whose upgrade requests to take. Required. */
  httpServer: HttpServer | HttpsServer | Array<HttpServer | HttpsServer>;
  /** Largest frame accepted, in bytes; a larger one closes the connection with 1009. @default 65536 */
  maxReceivedFrameSize?: number;
  /**
   * Largest message accepted, in bytes; a larger one closes the connection with 1009. Unlike
   * the package, this also bounds messages sent as a single frame. @default 1048576
   */
  maxReceivedMessageSize?: number;
  /** Split outgoing messages larger than `fragmentationThreshold` into frames. @default true */
  fragmentOutgoingMessages?: boolean;
  /** Largest outgoing frame when fragmenting, in bytes. @default 16384 */
  fragmentationThreshold?: number;
  /** Ping every connection every `keepaliveInterval` milliseconds. @default true */
  keepalive?: boolean;
  /** Milliseconds between keepalive pings. @default 20000 */
  keepaliveInterval?: number;
  /**
   * Drop (1006, 'Peer not responding.') a peer silent for `keepaliveInterval +
   * keepaliveGracePeriod` (checked at each ping). @default true
   */
  dropConnectionOnKeepaliveTimeout?: boolean;
  /** Milliseconds of silence, after a ping, before a peer is dropped. @default 10000 */
  keepaliveGracePeriod?: number;
  /**
   * TCP keepalive instead of pings. The engine owns the socket and cannot set TCP keepalive, so
   * `true` turns keepalive off. @default false
   */
  useNativeKeepalive?: boolean;
  /**
   * `false`: 'frame' events instead of 'message' ones. The engine reassembles fragments, so each
   * message arrives as one frame. @default true
   */
  assembleFragments?: boolean;
  /** Accept every request with its first protocol and no 'request' event. @default false */
  autoAcceptConnections?: boolean;
  /** Take `remoteAddress` from the socket even when X-Forwarded-For is present. @default false */
  ignoreXForwardedFor?: boolean;
  /** Parse the Cookie header into `request.cookies`. @default true */
  parseCookies?: boolean;
  /** Parse Sec-WebSocket-Extensions into `request.requestedExtensions`. @default true */
  parseExtensions?: boolean;
  /** Disable Nagle's algorithm on WebSocket sockets. @default true */
  disableNagleAlgorithm?: boolean;
  /** Milliseconds to wait for the peer's close frame after `close()`. @default 5000 */
  closeTimeout?: number;
  /** ferrows: buffered outbound bytes above which sends report backpressure and 'drain' follows. @default 16384 */
  highWaterMark?: number;
  /** ferrows: buffered outbound bytes above which a connection is closed with 1008. @default 16777216 */
  maxBackpressure?: number;
  /** ferrows: received bytes waiting for JavaScript above which the socket is no longer read. @default 4194304 */
  maxInboundPending?: number;
}

export interface ICookie {
  name: string;
  value: string;
  path?: string;
  domain?: string;
  expires?: Date;
  maxage?: number;
  secure?: boolean;
  httponly?: boolean;
}

/** A cookie the client sent (`value` is null for a cookie without '='). */
export interface IRequestCookie {
  name: string;
  value: string | null;
}

export interface IExtension {
  name: string;
  params: Array<{ name: string; value: string | undefined }>;
}

export interface IUtf8Message {
  type: 'utf8';
  utf8Data: string;
}

export interface IBinaryMessage {
  type: 'binary';
  binaryData: Buffer;
}

export type IMessage = IUtf8Message | IBinaryMessage;
export type Message = IMessage;

/** What a 'frame' event carries when `assembleFragments` is false: one whole message or control frame. */
export interface IFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  mask: boolean;
  opcode: number;
  length: number;
  binaryPayload: Buffer;
}

/** `connection.socket`: the engine owns the TCP socket, so this stands in for it. */
export interface ISocketFacade {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly encrypted: boolean;
  /** A no-op (keepalive is the engine's). */
  setKeepAlive(enable?: boolean, initialDelay?: number): this;
  /** A no-op (see `disableNagleAlgorithm`). */
  setNoDelay(noDelay?: boolean): this;
  /** A no-op. */
  setTimeout(timeout: number): this;
  pause(): this;
  resume(): this;
  /** Closes without a close frame. */
  destroy(): this;
  /** Starts the closing handshake (1000). */
  end(): this;
}

/** One accepted WebSocket. Events: message, frame, close, error, drain, pause, resume, ping, pong. */
export declare class connection extends EventEmitter {
  static readonly CLOSE_REASON_NORMAL: 1000;
  static readonly CLOSE_REASON_GOING_AWAY: 1001;
  static readonly CLOSE_REASON_PROTOCOL_ERROR: 1002;
  static readonly CLOSE_REASON_UNPROCESSABLE_INPUT: 1003;
  static readonly CLOSE_REASON_RESERVED: 1004;
  static readonly CLOSE_REASON_NOT_PROVIDED: 1005;
  static readonly CLOSE_REASON_ABNORMAL: 1006;
  static readonly CLOSE_REASON_INVALID_DATA: 1007;
  static readonly CLOSE_REASON_POLICY_VIOLATION: 1008;
  static readonly CLOSE_REASON_MESSAGE_TOO_BIG: 1009;
  static readonly CLOSE_REASON_EXTENSION_REQUIRED: 1010;
  static readonly CLOSE_REASON_INTERNAL_SERVER_ERROR: 1011;
  static readonly CLOSE_REASON_TLS_HANDSHAKE_FAILED: 1015;
  /** The package's description of each close code. */
  static readonly CLOSE_DESCRIPTIONS: { [code: number]: string };

  constructor(socket: Socket, extensions: IExtension[], protocol: string | null | undefined, maskOutgoingPackets: boolean, config: IServerConfig);

  config: IServerConfig;
  socket: ISocketFacade;
  /** The accepted protocol, as passed to `accept`. */
  protocol: string | null | undefined;
  extensions: IExtension[];
  remoteAddress: string;
  remoteAddresses: string[];
  webSocketVersion: number;
  /** -1 until closed. */
  closeReasonCode: number;
  closeDescription: string | null | undefined;
  closeEventEmitted: boolean;
  maskOutgoingPackets: boolean;
  /** False once a close frame was sent or the connection closed. */
  connected: boolean;
  state: 'open' | 'peer_requested_close' | 'ending' | 'closed';
  waitingForCloseResponse: boolean;
  closeTimeout: number;
  assembleFragments: boolean;
  maxReceivedMessageSize: number;
  /** True after a send passed the high-water mark, until 'drain'. */
  outputBufferFull: boolean;
  inputPaused: boolean;

  /** Sends a Buffer as binary, anything else as `toString()` text. */
  send(data: Buffer | { toString(): string }, cb?: (err?: Error) => void): void;
  /**
   * Sends text; `cb` runs once it is written (with `null` or nothing, as the package passes), or
   * with an error if the connection closed first.
   */
  sendUTF(data: { toString(): string }, cb?: (err?: Error) => void): void;
  /** Sends binary; throws for anything but a Buffer. */
  sendBytes(buffer: Buffer, cb?: (err?: Error) => void): void;
  /** Sends a ping (a payload above 125 bytes is cut). */
  ping(data?: Buffer | { toString(): string }): void;
  /** Sends a pong (pings are answered automatically). */
  pong(binaryPayload?: Buffer): void;
  pause(): void;
  resume(): void;
  /**
   * Starts the closing handshake; throws for a code outside 1000-1003, 1007-1015, 3000-4999.
   * @param reasonCode @default 1000
   * @param description @default CLOSE_DESCRIPTIONS[reasonCode]
   */
  close(reasonCode?: number, description?: string): void;
  /**
   * Sends a close frame (unless `skipCloseFrame`), emits 'close' at once, does not wait.
   * @param reasonCode @default 1002
   * @param description @default CLOSE_DESCRIPTIONS[reasonCode]
   */
  drop(reasonCode?: number, description?: string, skipCloseFrame?: boolean): void;

  on(event: 'message', cb: (data: IMessage) => void): this;
  on(event: 'frame', cb: (frame: IFrame) => void): this;
  on(event: 'close', cb: (code: number, desc: string) => void): this;
  on(event: 'error', cb: (err: Error) => void): this;
  on(event: 'drain' | 'pause' | 'resume', cb: () => void): this;
  on(event: 'ping', cb: (cancel: () => void, binaryPayload: Buffer) => void): this;
  on(event: 'pong', cb: (binaryPayload: Buffer) => void): this;
  on(event: string | symbol, cb: (...args: any[]) => void): this;
  once(event: 'message', cb: (data: IMessage) => void): this;
  once(event: 'close', cb: (code: number, desc: string) => void): this;
  once(event: string | symbol, cb: (...args: any[]) => void): this;
}

/** An upgrade request awaiting `accept` or `reject`. Events: requestAccepted, requestRejected, requestResolved. */
export declare class request extends EventEmitter {
  constructor(socket: Socket, httpRequest: IncomingMessage, serverConfig: IServerConfig);
  /** The upgraded socket, until the request is resolved. */
  socket: Socket;
  httpRequest: IncomingMessage;
  /** The request URL (path and query). */
  resource: string;
  resourceURL: UrlWithParsedQuery;
  host: string;
  /** Origin (version 13) or Sec-WebSocket-Origin (version 8). */
  origin: string;
  key: string;
  webSocketVersion: number;
  /** Lower-cased; null after `accept`. */
  requestedProtocols: string[];
  requestedExtensions: IExtension[];
  cookies: IRequestCookie[];
  /** The first X-Forwarded-For address unless `ignoreXForwardedFor`, else the peer's. */
  remoteAddress: string;
  /** X-Forwarded-For addresses, then the peer's. */
  remoteAddresses: string[];
  serverConfig: IServerConfig;

  readHandshake(): void;
  parseExtensions(extensions: string | undefined): IExtension[];
  parseCookies(cookies: string | undefined): IRequestCookie[];
  /**
   * Completes the handshake. Throws (after answering 500) for a protocol the client did not
   * request or an invalid cookie; throws when already accepted or rejected.
   */
  accept(acceptedProtocol?: string | null, allowedOrigin?: string | null, cookies?: ICookie[]): connection;
  /**
   * Answers with an HTTP error.
   * @param status @default 403
   * @param reason sent as X-WebSocket-Reject-Reason
   */
  reject(status?: number, reason?: string, extraHeaders?: object): void;

  on(event: 'requestAccepted', cb: (connection: connection) => void): this;
  on(event: 'requestRejected' | 'requestResolved', cb: (request: this) => void): this;
  on(event: string | symbol, cb: (...args: any[]) => void): this;
}

/** The WebSocket server. Events: request, connect, close, upgradeError. */
export declare class server extends EventEmitter {
  constructor(serverConfig?: IServerConfig);
  config: IServerConfig & { httpServer: Array<HttpServer | HttpsServer> };
  /** Open connections, in accept order. */
  connections: connection[];
  /** Requests not yet accepted or rejected. */
  pendingRequests: request[];

  mount(serverConfig: IServerConfig): void;
  /** Stops taking upgrade requests; connections stay open. */
  unmount(): void;
  /** Closes every connection (1000); pending requests are answered 503. */
  closeAllConnections(): void;
  /** Sends a Buffer as binary, anything else as text, to every connection. */
  broadcast(data: Buffer | { toString(): string }): void;
  /** Sends text to every connection of `connections` (its `sendUTF`), framed once for all. */
  broadcastUTF(utfData: { toString(): string }): void;
  /** Sends binary to every connection of `connections` (its `sendBytes`), framed once for all. */
  broadcastBytes(binaryData: Buffer): void;
  /** `unmount()` then `closeAllConnections()`. */
  shutDown(): void;
  handleUpgrade(request: IncomingMessage, socket: Socket, head?: Buffer): void;
  handleRequestAccepted(connection: connection): void;
  handleConnectionClose(connection: connection, closeReason: number, description: string): void;
  handleRequestResolved(request: request): void;

  on(event: 'request', cb: (request: request) => void): this;
  on(event: 'connect', cb: (connection: connection) => void): this;
  on(event: 'close', cb: (connection: connection, reason: number, desc: string) => void): this;
  on(event: 'upgradeError', cb: (err: Error) => void): this;
  on(event: string | symbol, cb: (...args: any[]) => void): this;
  once(event: 'request', cb: (request: request) => void): this;
  once(event: 'connect', cb: (connection: connection) => void): this;
  once(event: 'close', cb: (connection: connection, reason: number, desc: string) => void): this;
  once(event: string | symbol, cb: (...args: any[]) => void): this;
}

/** What a router handler receives. Events: requestAccepted, requestRejected. */
export interface routerRequest extends EventEmitter {
  webSocketRequest: request;
  /** The matched protocol (lower-cased), or null for a request without one. */
  protocol: string | null;
  origin: string;
  resource: string;
  resourceURL: UrlWithParsedQuery;
  httpRequest: IncomingMessage;
  remoteAddress: string;
  webSocketVersion: number;
  requestedExtensions: IExtension[];
  cookies: IRequestCookie[];
  accept(origin?: string, cookies?: ICookie[]): connection;
  reject(status?: number, reason?: string, extraHeaders?: object): void;
}

export interface IRouterConfig {
  /** The server whose 'request' events to route. */
  server?: server;
}

export interface IRouterHandler {
  path: RegExp;
  pathString: string;
  protocol: string;
  callback: (request: routerRequest) => void;
}

/** Routes requests by path and protocol; a request no handler takes is answered 404. */
export declare class router extends EventEmitter {
  constructor(config?: IRouterConfig);
  config: { server: server | null };
  server: server | null;
  handlers: IRouterHandler[];
  attachServer(server: server): void;
  detachServer(): void;
  /**
   * @param path an exact pathname, a RegExp, or '*' for any
   * @param protocol a requested protocol, '*' for any, or null for requests without one
   */
  mount(path: string | RegExp, protocol: string | null | undefined, callback: (request: routerRequest) => void): void;
  unmount(path: string | RegExp, protocol?: string | null): void;
  findHandlerIndex(pathString: string, protocol: string): number;
  pathToRegExp(path: string | RegExp): RegExp;
  handleRequest(request: request): void;
}

/** The package's switch for deprecation warnings (ferrows gives none). */
export declare const deprecation: {
  disableWarnings: boolean;
  deprecationWarningMap: Record<string, string | false>;
  warn(name: string): void;
};

/** ferrows's version. */
export declare const version: string;

// @types/websocket's names for the types above, so that code annotated with them compiles.
export type IConfig = Omit<IServerConfig, 'httpServer'>;
export type IStringified = { toString(...args: any[]): string };
export type frame = IFrame;
export type IRouterRequest = routerRequest;
