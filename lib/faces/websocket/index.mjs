// ESM entry of `ferrows/websocket`: the same module as index.js, with named exports.
import websocket from './index.js';

export const { server, request, connection, router, deprecation, version } = websocket;
export default websocket;
