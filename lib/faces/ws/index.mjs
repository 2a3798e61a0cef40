// ESM entry of `ferrows/ws`: the same module as index.js. Its default export is the connection
// class with the rest as statics, as ws's is.
import WebSocket from './index.js';

export const { WebSocketServer, Server, WsSocket, createWebSocketStream } = WebSocket;
export { WebSocket };
export default WebSocket;
