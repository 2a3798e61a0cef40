// ESM entry of `ferrows/ws`: the same module as index.js, with named exports.
import ws from './index.js';

export const { WebSocketServer, Server, WebSocket, WsSocket } = ws;
export default ws;
