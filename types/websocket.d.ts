// Types of the websocket package's face (lib/compat/websocket).
export {};
