// Server-side parts of DefinitelyTyped types/ws/ws-tests.mts and ws's README, as an ES module,
// with only the module name changed (see package.spec.js).
import * as http from "http";
import * as https from "https";
import WebSocket, { WebSocketServer, createWebSocketStream } from "ferrows/ws";
import type { RawData, ServerOptions, PerMessageDeflateOptions, VerifyClientCallbackAsync, VerifyClientCallbackSync, AddressInfo, Data } from "ferrows/ws";
// eslint-disable-next-line no-duplicate-imports
import * as wslib from "ferrows/ws";

{
    const wss: wslib.WebSocketServer = new wslib.WebSocketServer({ port: 8081 });
    const ws0: wslib.WebSocket | undefined = undefined;
}

{
    const wss = new wslib.WebSocketServer({ port: 8081 });
    wss.on("connection", (ws, req) => {
        ws.on("message", message => console.log("received: %s", message));
        ws.send("something");
        ws.send("something", (error?: Error) => {});
        ws.send("something", {}, (error?: Error) => {});
        ws.send(new Uint8Array([]));
        ws.send(new Blob([]));
        ws.send(1234);
    });
    wss.once("connection", (ws, req) => { ws.send("something"); });
    wss.off("connection", (ws, req) => { ws.send("something"); });
}

{
    const wss = new wslib.WebSocketServer({ port: 8082 });
    const broadcast = (data: string) => { wss.clients.forEach(ws => ws.send(data)); };
}

{
    new wslib.WebSocketServer({ server: https.createServer({}) });
    new wslib.WebSocketServer({ server: http.createServer() });
}

{
    const wsv = new wslib.WebSocketServer({
        server: http.createServer(),
        clientTracking: true,
        perMessageDeflate: true,
        maxBufferedChunks: 4096,
        maxFragments: 1024,
    });
    wsv.on("connection", function connection(ws) { console.log(ws.protocol); });
}

{
    const wss = new wslib.WebSocketServer({ noServer: true });
    wss.addListener("connection", (client, request) => {
        request.socket.remoteAddress;
        client.terminate();
        request.destroy();
    });
    wss.close();
    const addr = wss.address();
    if (addr === null) { addr; }
}

{
    new wslib.WebSocketServer({ noServer: true, perMessageDeflate: false });
    new wslib.WebSocketServer({ noServer: true, perMessageDeflate: {} });
    new wslib.WebSocketServer({
        noServer: true,
        perMessageDeflate: {
            serverNoContextTakeover: true,
            clientNoContextTakeover: true,
            serverMaxWindowBits: 0,
            clientMaxWindowBits: 0,
            zlibDeflateOptions: {
                flush: 0, finishFlush: 0, chunkSize: 0, windowBits: 0, level: 0, memLevel: 0, strategy: 0,
                dictionary: Buffer.from("test"), info: false,
            },
            zlibInflateOptions: { chunkSize: 0 },
        },
        verifyClient: (info: any, cb: any) => { cb(true, 123, "message", { Upgrade: "websocket" }); },
        allowSynchronousEvents: false,
        autoPong: false,
    });
}

{
    const webSocketServer = new wslib.WebSocketServer({ noServer: true });
    const server = new http.Server();
    server.on("upgrade", (request, socket, head) => {
        if (request.url === "/path") {
            webSocketServer.handleUpgrade(request, socket, head, (ws) => {
                webSocketServer.emit("connection", ws, request);
            });
        }
    });
}

{
    class MyWebSocket extends WebSocket { id?: string; }
    const server = new wslib.WebSocketServer({ WebSocket: MyWebSocket, noServer: true });
    server.on("connection", (ws) => {
        const id: string | undefined = ws.id;
    });
}

{
    class CustomWebSocket extends WebSocket { foo(): "foo" { return "foo"; } }
    const server = new http.Server();
    const webSocketServer = new wslib.WebSocketServer({ WebSocket: CustomWebSocket, noServer: true });
    webSocketServer.on("connection", (ws) => { const f: "foo" = ws.foo(); });
    Array.from(webSocketServer.clients).forEach((ws) => { ws.foo(); });
    server.on("upgrade", (request, socket, head) => {
        webSocketServer.handleUpgrade(request, socket, head, (ws) => { ws.foo(); });
    });
}

{
    class Request extends http.IncomingMessage { user?: string }
    const server = http.createServer({ IncomingMessage: Request });
    const wss = new wslib.WebSocketServer({ server });
    wss.on("connection", (ws, req) => { const u: string | undefined = req.user; });
    wss.on("headers", (_headers, req) => { req.user; });
    wss.on("wsClientError", (error, socket, req) => { socket.destroy(); req.user; });
}

// ---- README, ESM flavour ----
{
    const wss = new WebSocketServer({ port: 8080 });
    wss.on("connection", function connection(ws: WebSocket) {
        ws.on("error", console.error);
        ws.on("message", function message(data: RawData, isBinary: boolean) {
            wss.clients.forEach(function each(client) {
                if (client !== ws && client.readyState === WebSocket.OPEN) {
                    client.send(data, { binary: isBinary });
                }
            });
        });
        ws.send("something");
    });
}

{
    // server-side external HTTP + noServer + authenticate
    const server = http.createServer();
    const wss1 = new WebSocketServer({ noServer: true });
    const wss2 = new WebSocketServer({ noServer: true });
    wss1.on("connection", function connection(ws) { ws.on("error", console.error); });
    server.on("upgrade", function upgrade(request, socket, head) {
        const { pathname } = new URL(request.url!, "wss://base.url");
        socket.on("error", console.error);
        if (pathname === "/foo") {
            wss1.handleUpgrade(request, socket, head, function done(ws) { wss1.emit("connection", ws, request); });
        } else if (pathname === "/bar") {
            wss2.handleUpgrade(request, socket, head, function done(ws) { wss2.emit("connection", ws, request); });
        } else {
            socket.destroy();
        }
    });
}

{
    // heartbeat with module augmentation-free subclassing/casting
    type Alive = WebSocket & { isAlive?: boolean };
    function heartbeat(this: Alive) { this.isAlive = true; }
    const wss = new WebSocketServer({ port: 8080 });
    wss.on("connection", function connection(ws: Alive) {
        ws.isAlive = true;
        ws.on("error", console.error);
        ws.on("pong", heartbeat);
    });
    const interval = setInterval(function ping() {
        wss.clients.forEach(function each(ws: Alive) {
            if (ws.isAlive === false) return ws.terminate();
            ws.isAlive = false;
            ws.ping();
        });
    }, 30000);
    wss.on("close", function close() { clearInterval(interval); });
}

{
    // verifyClient sync and async, typed
    const sync: VerifyClientCallbackSync = ({ origin, req }) => origin === "https://a" && !!req.headers.cookie;
    const asyncV: VerifyClientCallbackAsync = (info, done) => { done(false, 401, "Unauthorized", { "WWW-Authenticate": "Basic" }); };
    new WebSocketServer({ noServer: true, verifyClient: sync });
    new WebSocketServer({ noServer: true, verifyClient: asyncV });
    new WebSocketServer({ noServer: true, verifyClient: (info, done) => done(info.origin.startsWith("https://")) });
    new WebSocketServer({ noServer: true, verifyClient: (info: { origin: string; secure: boolean; req: http.IncomingMessage }) => info.req.headers.origin === info.origin });
    const opts: ServerOptions = { port: 8080, perMessageDeflate: { zlibDeflateOptions: { chunkSize: 1024, memLevel: 7, level: 3 }, zlibInflateOptions: { chunkSize: 10 * 1024 }, clientNoContextTakeover: true, serverNoContextTakeover: true, serverMaxWindowBits: 10, concurrencyLimit: 10, threshold: 1024 } };
    new WebSocketServer(opts);
    const pm: PerMessageDeflateOptions = { threshold: 0 };
    const a: AddressInfo | string | null = new WebSocketServer(opts).address();
    const d: Data = "x";
}

{
    // handleProtocols / shouldHandle override
    new WebSocketServer({ noServer: true, handleProtocols: (protocols, req) => protocols.has("chat") ? "chat" : false });
    class PathServer extends WebSocketServer {
        shouldHandle(req: http.IncomingMessage): boolean { return req.url === "/x"; }
    }
    const ps = new PathServer({ noServer: true });
    ps.on("connection", (ws, req) => { ws.close(1000, "bye"); });
}

{
    // closing / events on the socket
    const wss = new WebSocketServer({ port: 8080 });
    wss.on("connection", (ws) => {
        ws.on("close", (code: number, reason: Buffer) => console.log(code, reason.toString()));
        ws.on("ping", (data: Buffer) => ws.pong(data));
        ws.on("error", (err: Error) => console.error(err));
        ws.ping("x", false, (err: Error) => {});
        ws.onmessage = (ev: WebSocket.MessageEvent) => console.log(ev.data);
        ws.binaryType = "arraybuffer";
        if (ws.readyState === ws.OPEN) { const x: 1 = ws.readyState; }
    });
}

{
    // createWebSocketStream over a server-side connection, as a named import and a static
    const wss = new WebSocketServer({ noServer: true });
    wss.on("connection", (ws) => {
        createWebSocketStream(ws, { allowHalfOpen: true }).pipe(WebSocket.createWebSocketStream(ws));
    });
}
