'use strict';

// Each face's connection object is an EventEmitter with a listener table of its own making
// (core/listeners.js): it must behave as Node's own for every event name, the ones
// Object.prototype has included, next to the package it replaces.

const http = require('http');
const WS = require('ws');
const WebSocketNode = require('websocket');
const ferrows = require('..');
const { once } = require('./helpers');

/** Resolves with the server's side of one connection, and a stop function. */
const SERVERS = {
  'native face': (httpServer) => {
    const wss = ferrows.attach(httpServer);
    return { connected: once(wss, 'connection').then(([ws]) => ws), close: () => wss.close() };
  },
  'ws face': (httpServer) => {
    const wss = new ferrows.WebSocketServer({ server: httpServer });
    return { connected: once(wss, 'connection').then(([ws]) => ws), close: () => wss.close() };
  },
  ws: (httpServer) => {
    const wss = new WS.WebSocketServer({ server: httpServer });
    return { connected: once(wss, 'connection').then(([ws]) => ws), close: () => wss.close() };
  },
  'websocket face': (httpServer) => websocketServer(ferrows.server, httpServer),
  websocket: (httpServer) => websocketServer(WebSocketNode.server, httpServer),
};

function websocketServer(Server, httpServer) {
  const server = new Server({ httpServer });
  server.on('request', (request) => request.accept(null, request.origin));
  return { connected: once(server, 'connect').then(([connection]) => connection), close: () => server.shutDown() };
}

async function listenerBehaviour(start) {
  const httpServer = http.createServer();
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const server = start(httpServer);
  const client = new WS(`ws://127.0.0.1:${httpServer.address().port}/`);
  client.on('error', () => {});
  const [conn] = await Promise.all([server.connected, once(client, 'open')]);
  const before = conn.eventNames().length;
  const heard = [];
  for (const name of ['constructor', 'toString', '__proto__', 'custom']) conn.on(name, (v) => heard.push([name, v]));
  const results = {
    inherited: ['hasOwnProperty', 'valueOf'].map((name) => [conn.listenerCount(name), conn.emit(name, 1)]),
    emitted: ['constructor', 'toString', '__proto__', 'custom'].map((name) => conn.emit(name, name.length)),
    added: conn.eventNames().length - before,
  };
  conn.removeAllListeners('toString');
  conn.removeListener('custom', conn.listeners('custom')[0]);
  results.afterRemoval = [conn.listenerCount('toString'), conn.listenerCount('custom'), conn.listenerCount('constructor')];
  results.heard = heard;
  const closed = once(client, 'close');
  client.terminate();
  await closed;
  server.close();
  httpServer.close();
  return results;
}

describe('the connection objects as EventEmitters', () => {
  it('behave as the packages\' for every event name', async () => {
    const results = {};
    for (const [name, start] of Object.entries(SERVERS)) results[name] = await listenerBehaviour(start);
    expect(results['native face']).toEqual(results.ws);
    expect(results['ws face']).toEqual(results.ws);
    expect(results['websocket face']).toEqual(results.websocket);
    expect(results.ws.heard).toHaveLength(4);
    expect(results.ws.added).toBe(4);
  });
});
