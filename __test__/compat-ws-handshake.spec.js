'use strict';

// The ws face's opening handshake against ws's own (see compat-ws-helpers.js): the 101 and the
// socket it makes, subprotocols, refusals, verifyClient, the 'headers' event, extension offers and
// https servers.

const net = require('net');
const { once, until, upgradeRequest } = require('./helpers');
const { differential, cleanUp, start, pair, rawRefusal, rawUpgrade, describeError, recordMessages } = require('./compat-ws-helpers');

afterEach(cleanUp);

describe('ws face: opening handshake', () => {
  it('answers a valid upgrade with the same 101 head and socket state', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const connection = once(env.wss, 'connection');
      const { head } = await rawUpgrade(env, upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'chat, superchat' }));
      const [ws, req] = await connection;
      return {
        head,
        protocol: ws.protocol,
        extensions: ws.extensions,
        url: ws.url,
        readyState: ws.readyState,
        binaryType: ws.binaryType,
        bufferedAmount: ws.bufferedAmount,
        isPaused: ws.isPaused,
        reqUrl: req.url,
        clients: env.wss.clients.size,
        // ws applications read the peer from the request's socket after the upgrade.
        addresses: [
          req.socket.remoteAddress,
          typeof req.socket.remotePort,
          req.socket.remoteFamily,
          req.socket.localAddress,
          req.socket.localPort === env.port,
        ],
      };
    });
  });

  it('chooses the first offered subprotocol, or what handleProtocols returns', async () => {
    await differential(async (Server) => {
      const seen = [];
      const handleProtocols = (protocols, req) => {
        seen.push([[...protocols], req.url]);
        return protocols.has('superchat') ? 'superchat' : false;
      };
      const plain = await start(Server);
      const first = await pair(plain, { protocols: ['chat', 'superchat'] });
      const custom = await start(Server, { handleProtocols });
      const chosen = await pair(custom, { path: '/x', protocols: ['chat', 'superchat'] });
      // ws's client refuses a 101 without the protocol it asked for: a raw client takes it.
      const connection = once(custom.wss, 'connection');
      const none = await rawUpgrade(custom, upgradeRequest('/none', { 'Sec-WebSocket-Protocol': 'chat' }));
      const [noneWs] = await connection;
      const offered = await pair(custom);
      return {
        first: [first.client.protocol, first.ws.protocol],
        chosen: [chosen.client.protocol, chosen.ws.protocol],
        none: [none.head, noneWs.protocol],
        offered: offered.ws.protocol,
        seen,
      };
    });
  });

  it('refuses malformed requests with ws statuses, headers and bodies', async () => {
    const requests = [
      upgradeRequest('/').replace('GET', 'POST'),
      upgradeRequest('/', { Upgrade: 'h2c' }),
      upgradeRequest('/', { 'Sec-WebSocket-Key': undefined }),
      upgradeRequest('/', { 'Sec-WebSocket-Key': 'not-a-key' }),
      upgradeRequest('/', { 'Sec-WebSocket-Version': '7' }),
      upgradeRequest('/', { 'Sec-WebSocket-Version': undefined }),
      upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'a,,b' }),
      upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'a, a' }),
      upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'a b' }),
    ];
    await differential(async (Server) => {
      const env = await start(Server);
      const answers = [];
      for (const request of requests) answers.push(await rawRefusal(env, request));
      return answers;
    });
  });

  it('accepts protocol version 8 as ws does', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { head } = await rawUpgrade(env, upgradeRequest('/', { 'Sec-WebSocket-Version': '8' }));
      return head;
    });
  });

  it('emits wsClientError instead of answering when someone listens', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const seen = [];
      env.wss.on('wsClientError', (err, socket, req) => {
        seen.push([describeError(err), socket instanceof net.Socket, req.url]);
        socket.end('HTTP/1.1 418 I\'m a Teapot\r\nConnection: close\r\n\r\n');
      });
      const answer = await rawRefusal(env, upgradeRequest('/tea', { 'Sec-WebSocket-Version': '7' }));
      return { seen, answer };
    });
  });

  it('answers 400 to other paths and takes its own path with any query', async () => {
    await differential(async (Server) => {
      const env = await start(Server, { path: '/chat' });
      const other = await rawRefusal(env, upgradeRequest('/other'));
      const { head } = await rawUpgrade(env, upgradeRequest('/chat?room=1'));
      const should = ['/chat', '/chat?x', '/chat/', '/'].map((url) => env.wss.shouldHandle({ url }));
      return { other, head, should };
    });
  });

  it('runs verifyClient in its sync form with ws info', async () => {
    await differential(async (Server) => {
      const infos = [];
      const env = await start(Server, {
        verifyClient: (info) => {
          infos.push([info.origin, info.secure, info.req.url]);
          return info.req.url !== '/deny';
        },
      });
      const denied = await rawRefusal(env, upgradeRequest('/deny', { Origin: 'http://a.example' }));
      const { head } = await rawUpgrade(env, upgradeRequest('/ok', { Origin: 'http://b.example' }));
      const v8 = await rawUpgrade(env, upgradeRequest('/v8', { 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Origin': 'http://c.example' }));
      return { denied, head, v8: v8.head, infos };
    });
  });

  it('runs verifyClient in its callback form, with a status, message and headers', async () => {
    await differential(async (Server) => {
      const env = await start(Server, {
        verifyClient: (info, done) => {
          if (info.req.url === '/deny') setImmediate(() => done(false, 403, 'Nope', { 'X-Reason': 'policy' }));
          else if (info.req.url === '/bare') done(false);
          else setImmediate(() => done(true));
        },
      });
      const denied = await rawRefusal(env, upgradeRequest('/deny'));
      const bare = await rawRefusal(env, upgradeRequest('/bare'));
      const { client } = await pair(env, { path: '/late' });
      return { denied, bare, open: client.readyState };
    });
  });

  it('lets a headers listener add lines to the 101', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const seen = [];
      env.wss.on('headers', (headers, req) => {
        seen.push([...headers], req.url);
        headers.push('Set-Cookie: session=abc');
        headers.push('X-Served-By: test');
      });
      const { head } = await rawUpgrade(env, upgradeRequest('/h', { 'Sec-WebSocket-Protocol': 'p' }));
      return { head, seen };
    });
  });

  it('ignores permessage-deflate offers (compression off)', async () => {
    await differential(async (Server) => {
      const env = await start(Server);
      const { head } = await rawUpgrade(
        env,
        upgradeRequest('/', { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' })
      );
      const { client, ws } = await pair(env, { options: { perMessageDeflate: true } });
      return { head, client: client.extensions, server: ws.extensions };
    });
  });

  it('works over an https server (TLS sockets stay Node\'s)', async () => {
    await differential(async (Server) => {
      const env = await start(Server, {}, { secure: true });
      const { client, ws } = await pair(env);
      const received = recordMessages(ws);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      const echoes = recordMessages(client);
      client.send('over tls');
      client.send(Buffer.from([9, 8, 7]));
      await until(() => echoes.length === 2, 5000, 'two echoes');
      const closing = once(ws, 'close');
      client.close(4000, 'tls bye');
      const [code, reason] = await closing;
      return { received, echoes, close: [code, reason.toString()] };
    });
  });
});
