// ESM entry: the same module as index.js, with named exports.
import ferrows from './index.js';

export const {
  attach,
  Server,
  WebSocket,
  WebSocketServer,
  WsSocket,
  createWebSocketStream,
  server,
  request,
  connection,
  router,
  deprecation,
  version,
} = ferrows;
export default ferrows;
