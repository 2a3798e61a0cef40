// Types of `import ... from 'ferrows/ws'` (lib/faces/ws/index.mjs).
import WebSocket = require('./ws-entry.js');
export default WebSocket;
export { WebSocket };
export { WebSocketServer, WebSocketServer as Server, WsSocket, createWebSocketStream } from './ws.js';
export type * from './ws.js';
export type RawData = WebSocket.RawData;
export type Data = WebSocket.Data;
export type ServerOptions = WebSocket.ServerOptions;
export type PerMessageDeflateOptions = WebSocket.PerMessageDeflateOptions;
export type VerifyClientCallbackSync = WebSocket.VerifyClientCallbackSync;
export type VerifyClientCallbackAsync = WebSocket.VerifyClientCallbackAsync;
export type Event = WebSocket.Event;
export type MessageEvent = WebSocket.MessageEvent;
export type CloseEvent = WebSocket.CloseEvent;
export type ErrorEvent = WebSocket.ErrorEvent;
export type AddressInfo = WebSocket.AddressInfo;
