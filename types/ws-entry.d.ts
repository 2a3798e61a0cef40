// Types of `ferrows/ws`: the server side of `ws`'s exports.
import { WsSocket, WebSocketServer } from './ws';

export * from './ws';
export { WsSocket as WebSocket, WebSocketServer as Server };
