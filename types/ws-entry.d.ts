// Types of `ferrows/ws`: the server side of `ws`'s exports. As with ws, the module itself (the
// default import) is the connection class, with the server classes as statics.
import { WsSocket, WebSocketServer } from './ws';

export * from './ws';
export { WsSocket as WebSocket, WebSocketServer as Server };

declare const WebSocket: typeof WsSocket & {
  readonly WebSocket: typeof WsSocket;
  readonly WsSocket: typeof WsSocket;
  readonly WebSocketServer: typeof WebSocketServer;
  readonly Server: typeof WebSocketServer;
};
export default WebSocket;
