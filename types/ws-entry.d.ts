// Types of `require('ferrows/ws')`: as with @types/ws, the module is the connection class, with
// the server classes as statics and ws's type names in its namespace.
import * as Ws from './ws';
import type { AddressInfo as NetAddressInfo } from 'net';

declare class WebSocket extends Ws.WsSocket {}
declare const WebSocketAlias: typeof WebSocket;
interface WebSocketAlias extends WebSocket {}

declare namespace WebSocket {
  type RawData = Ws.WsRawData;
  type Data = string | Ws.WsRawData;
  type ServerOptions = Ws.WebSocketServerOptions;
  type PerMessageDeflateOptions = Ws.WsPerMessageDeflateOptions;
  type VerifyClientCallbackSync = (info: Ws.WsVerifyClientInfo) => boolean;
  type VerifyClientCallbackAsync = (info: Ws.WsVerifyClientInfo, callback: Ws.WsVerifyClientDone) => void;
  type Event = Ws.WsEvent;
  type MessageEvent = Ws.WsMessageEvent;
  type CloseEvent = Ws.WsCloseEvent;
  type ErrorEvent = Ws.WsErrorEvent;
  type AddressInfo = NetAddressInfo;
  const WebSocketServer: typeof Ws.WebSocketServer;
  type WebSocketServer<T extends typeof Ws.WsSocket = typeof Ws.WsSocket> = Ws.WebSocketServer<T>;
  const Server: typeof Ws.WebSocketServer;
  type Server<T extends typeof Ws.WsSocket = typeof Ws.WsSocket> = Ws.WebSocketServer<T>;
  const WsSocket: typeof Ws.WsSocket;
  type WsSocket = Ws.WsSocket;
  const WebSocket: typeof WebSocketAlias;
  type WebSocket = WebSocketAlias;
  type WebSocketServerOptions = Ws.WebSocketServerOptions;
  const createWebSocketStream: typeof Ws.createWebSocketStream;
}

export = WebSocket;
