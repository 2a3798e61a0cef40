'use strict';

// ws's `createWebSocketStream(ws, options)`: a Duplex over a connection. Messages are read as
// chunks (the connection pauses while the readable side is full), writes are sends, `end()`
// closes the connection once the close frame is out, and `destroy()` terminates it. Behaviour,
// event order and errors follow ws 8's lib/stream.js, so that code piping through it behaves
// the same with only the require changed.

const { Duplex } = require('stream');

function emitClose(stream) {
  stream.emit('close');
}

/** The readable side ended after the writable one finished: nothing is left to do. */
function duplexOnEnd() {
  if (!this.destroyed && this._writableState.finished) this.destroy();
}

/** An error destroys the stream; it still throws when nothing else listens, as ws's does. */
function duplexOnError(err) {
  this.removeListener('error', duplexOnError);
  this.destroy();
  if (this.listenerCount('error') === 0) this.emit('error', err);
}

/**
 * @param {import('./socket').WsSocket} ws
 * @param {import('stream').DuplexOptions} [options]
 * @returns {Duplex}
 */
function createWebSocketStream(ws, options) {
  // An error has already closed the connection (its close frame going out): destroying the
  // stream then must not cut it short with terminate().
  let terminateOnDestroy = true;

  const duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
  });

  ws.on('message', (msg, isBinary) => {
    const data = !isBinary && duplex._readableState.objectMode ? msg.toString() : msg;
    if (!duplex.push(data)) ws.pause();
  });

  ws.once('error', (err) => {
    if (duplex.destroyed) return;
    terminateOnDestroy = false;
    duplex.destroy(err);
  });

  ws.once('close', () => {
    if (!duplex.destroyed) duplex.push(null);
  });

  duplex._destroy = (err, callback) => {
    if (ws.readyState === ws.CLOSED) {
      callback(err);
      process.nextTick(emitClose, duplex);
      return;
    }
    let called = false;
    ws.once('error', (error) => {
      called = true;
      callback(error);
    });
    ws.once('close', () => {
      if (!called) callback(err);
      process.nextTick(emitClose, duplex);
    });
    if (terminateOnDestroy) ws.terminate();
  };

  duplex._final = (callback) => {
    if (ws.readyState === ws.CLOSED) {
      callback();
      if (duplex._readableState.endEmitted) duplex.destroy();
      return;
    }
    // The readable side ends when the connection's 'close' pushes the end of the stream, after
    // this; the end listener then destroys the duplex.
    ws._whenFinished(() => callback());
    ws.close();
  };

  duplex._read = () => {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = (chunk, encoding, callback) => {
    ws.send(chunk, callback);
  };

  duplex.on('end', duplexOnEnd);
  duplex.on('error', duplexOnError);
  return duplex;
}

module.exports = { createWebSocketStream };
