'use strict';

// The ws face and the Rust-first intake (lib/core/intake.js): a plain upgrade to a ws face server
// is answered before Node's HTTP parser, yet its application sees what ws shows it: a real
// `http.IncomingMessage` as `req`, ws's subprotocol and compression answers. Anything that needs
// JavaScript before the 101 keeps ws's path.

const http = require('http');
const net = require('net');
const { once, upgradeRequest } = require('./helpers');
const { differential, cleanUp, start, pair, rawUpgrade } = require('./compat-ws-helpers');
const { WebSocketServer } = require('..');

afterEach(cleanUp);

/** What a ws application reads off the 'connection' request. */
function describeRequest(req, env) {
  return {
    incomingMessage: req instanceof http.IncomingMessage,
    socket: [req.socket instanceof net.Socket, req.connection === req.socket],
    line: [req.method, req.url, req.httpVersion, req.httpVersionMajor, req.httpVersionMinor],
    headers: { ...req.headers },
    rawHeaders: req.rawHeaders,
    cookies: req.headersDistinct.cookie,
    addresses: [req.socket.remoteAddress, req.socket.remoteFamily, req.socket.localPort === env.port],
  };
}

describe('ws face: upgrades the intake answers', () => {
  it("give the 'connection' listener the request ws gives it", async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const connection = once(env.wss, 'connection');
      const { head } = await rawUpgrade(
        env,
        upgradeRequest('/room?id=7', { Cookie: 'a=1', 'X-Trace': 'abc', 'Sec-WebSocket-Protocol': 'chat, superchat' }).replace(
          '\r\n\r\n',
          '\r\nCookie: b=2\r\nX-Trace: def\r\n\r\n'
        )
      );
      const [ws, req] = await connection;
      return { head, protocol: ws.protocol, request: describeRequest(req, env) };
    });
  });

  it('agree permessage-deflate as ws does', async () => {
    await differential(async (Server) => {
      const env = await start(Server, { perMessageDeflate: true });
      const { client, ws } = await pair(env, { options: { perMessageDeflate: true } });
      const echoed = once(client, 'message');
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      client.send('x'.repeat(2000));
      const [data] = await echoed;
      return { client: client.extensions, server: ws.extensions, echo: data.length };
    });
  });

  it('are taken before Node parses them only when JavaScript has nothing to decide first', async () => {
    const cases = [
      [{}, false],
      [{ verifyClient: () => true }, false],
      [{ handleProtocols: (protocols) => protocols.values().next().value }, false],
      [{}, true],
    ];
    const seen = [];
    for (const [options, headersListener] of cases) {
      const env = await start(WebSocketServer, options);
      let headersEvents = 0;
      if (headersListener) env.wss.on('headers', () => headersEvents++);
      const { req } = await pair(env, { protocols: ['chat'] });
      // Node's socket read the request it parsed; the one that shows an engine-taken
      // connection's addresses read nothing.
      seen.push([req.socket.bytesRead > 0, headersEvents]);
      await cleanUp();
    }
    expect(seen).toEqual([
      [false, 0],
      [true, 0],
      [true, 0],
      [true, 1],
    ]);
  });
});
