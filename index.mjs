// ESM entry: the same module as index.js, with named exports.
import ferrows from './index.js';

export const { attach, Server, WebSocket } = ferrows;
export default ferrows;
