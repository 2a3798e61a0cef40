'use strict';

// Replies before the close (issue #13): when a client's last message and its close frame arrive
// in one TCP write, the handler's reply still goes out, before the server's close reply, as
// RFC 6455 5.5.1 allows and as `ws` does. The `websocket` package drops that reply; its face
// sends it (a documented difference).

const http = require('http');
const { IMPLEMENTATIONS } = require('./implementations');
const { rawClient, upgradeRequest, readResponse, frame, parseFrames, until, socketClosed } = require('./helpers');

const SENDERS = ['ferrows native face', 'ferrows ws face', 'ferrows websocket face', 'ws'];

describe.each(SENDERS)('%s', (name) => {
  let stop = null;

  afterEach(async () => {
    await stop?.();
    stop = null;
  });

  it('sends the reply to a message that came with the close frame, then the close reply', async () => {
    const httpServer = http.createServer();
    const server = IMPLEMENTATIONS[name](httpServer, (conn) => conn.onMessage((data) => conn.send(`re: ${data}`)));
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    stop = async () => {
      await server.stop();
      await new Promise((resolve) => httpServer.close(resolve));
    };
    const socket = rawClient({ port: httpServer.address().port, secure: false });
    socket.write(upgradeRequest('/'));
    await readResponse(socket);
    const close = Buffer.from([0x03, 0xe8]);
    socket.write(Buffer.concat([frame(1, 'last words'), frame(8, close)]));
    await until(() => parseFrames(rest(socket)).some((f) => f.opcode === 8), 5000, 'the close reply');
    const frames = parseFrames(rest(socket)).map((f) => [f.opcode, f.payload.toString('latin1')]);
    expect(frames).toEqual([
      [1, 're: last words'],
      [8, close.toString('latin1')],
    ]);
    socket.end();
    await socketClosed(socket);
  });
});

/** What a raw client received after the 101's head. */
function rest(socket) {
  const end = socket.received.indexOf('\r\n\r\n');
  return socket.received.subarray(end + 4);
}
