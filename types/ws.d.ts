// Types of the ws face (lib/compat/ws.js).
export {};
