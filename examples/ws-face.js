'use strict';

// A broadcast server written for `ws`, running on ferrows with only the require line changed:
// every message goes to every other connected client, text as text and binary as binary.
//   PORT=8080 node examples/ws-face.js   then connect two clients to ws://127.0.0.1:8080/

const http = require('http');
const { WebSocketServer } = require('ferrows'); // the only change: this was require('ws')

const server = http.createServer((req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end('This is a WebSocket broadcast server; connect with a WebSocket client.\n');
});
const wss = new WebSocketServer({ server });

wss.on('connection', (ws, req) => {
  // Read the peer from req in 'connection' (as ws's README does): ws._socket is not there.
  const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  console.log(`ws-face: ${peer} connected (${wss.clients.size} online)`);
  ws.on('error', console.error);

  ws.on('message', (data, isBinary) => {
    // data is a Buffer even for text, as in ws, so pass isBinary on to keep the frame type.
    wss.clients.forEach((client) => {
      if (client !== ws && client.readyState === client.OPEN) {
        client.send(data, { binary: isBinary });
      }
    });
  });

  ws.on('close', (code, reason) => {
    console.log(`ws-face: ${peer} left (${code} ${reason.toString()}), ${wss.clients.size} online`);
  });

  ws.send(`welcome, ${wss.clients.size} online`);
});

server.listen(Number(process.env.PORT || 8080), '127.0.0.1', () => {
  console.log(`ws-face: listening on ws://127.0.0.1:${server.address().port}/`);
});
