// Server-side parts of DefinitelyTyped types/ws/ws-tests.ts and ws's README, as CommonJS,
// with only the module name changed (see package.spec.js).
import WebSocket = require("ferrows/ws");
import * as http from "http";
import * as https from "https";
import * as wslib from "ferrows/ws";

{
    const wss: wslib.WebSocketServer = new wslib.WebSocketServer({ port: 8081 });
}

{
    const wss = new WebSocket.Server({ port: 8081 });
    wss.on("connection", (ws, req) => {
        ws.on("message", message => console.log("received: %s", message));
        ws.send("something");
        ws.send("something", (error?: Error) => {});
        ws.send("something", {}, (error?: Error) => {});
    });
    wss.once("connection", (ws, req) => {
        ws.send("something");
    });
    wss.off("connection", (ws, req) => {
        ws.send("something");
    });
}

{
    const wss = new WebSocket.Server({ port: 8082 });
    const broadcast = (data: any) => {
        wss.clients.forEach(ws => ws.send(data));
    };
}

{
    new WebSocket.Server({ server: https.createServer({}) });
    new WebSocket.Server({ server: http.createServer() });
}

{
    const verifyClient = (
        info: { origin: string; secure: boolean; req: http.IncomingMessage },
        callback: (res: boolean) => void,
    ): void => {
        callback(true);
    };
    const wsv = new WebSocket.Server({
        server: http.createServer(),
        clientTracking: true,
        perMessageDeflate: true,
        verifyClient,
    });
    wsv.on("connection", function connection(ws) {
        console.log(ws.protocol);
    });
}

{
    const wss = new WebSocket.Server({ noServer: true });
    wss.addListener("connection", (client, request) => {
        request.socket.remoteAddress;
        client.terminate();
        request.destroy();
    });
    wss.close();
    const addr = wss.address();
    if (addr !== null && typeof addr !== "string") console.log(addr.port);
}

{
    new WebSocket.Server({ noServer: true, perMessageDeflate: false });
    new WebSocket.Server({ noServer: true, perMessageDeflate: {} });
    new WebSocket.Server({
        noServer: true,
        perMessageDeflate: {
            serverNoContextTakeover: true,
            clientNoContextTakeover: true,
            serverMaxWindowBits: 0,
            clientMaxWindowBits: 0,
            zlibDeflateOptions: {
                flush: 0,
                finishFlush: 0,
                chunkSize: 0,
                windowBits: 0,
                level: 0,
                memLevel: 0,
                strategy: 0,
                dictionary: Buffer.from("test"),
                info: false,
            },
            zlibInflateOptions: {
                chunkSize: 0,
            },
        },
        verifyClient: (info: any, cb: any) => {
            cb(true, 123, "message", { Upgrade: "websocket" });
        },
    });
}

{
    const webSocketServer = new WebSocket.WebSocketServer({ noServer: true });
    const server = new http.Server();
    server.on("upgrade", (request, socket, head) => {
        if (request.url === "/path") {
            webSocketServer.handleUpgrade(request, socket, head, (ws) => {
                webSocketServer.emit("connection", ws, request);
            });
        }
    });
}

// ---- README patterns, CJS flavour ----
{
    // broadcast with WebSocket.OPEN
    const wss = new WebSocket.Server({ port: 8080 });
    wss.on("connection", function connection(ws: WebSocket) {
        ws.on("message", function message(data: WebSocket.RawData, isBinary: boolean) {
            wss.clients.forEach(function each(client: WebSocket) {
                if (client !== ws && client.readyState === WebSocket.OPEN) {
                    client.send(data, { binary: isBinary });
                }
            });
        });
    });
}

{
    // heartbeat
    interface ExtWebSocket extends WebSocket { isAlive: boolean }
    const wss: WebSocket.Server = new WebSocket.Server({ port: 8080 });
    function heartbeat(this: WebSocket) { (this as ExtWebSocket).isAlive = true; }
    wss.on("connection", function connection(ws) {
        (ws as ExtWebSocket).isAlive = true;
        ws.on("error", console.error);
        ws.on("pong", heartbeat);
    });
    const interval = setInterval(function ping() {
        wss.clients.forEach(function each(ws) {
            if ((ws as ExtWebSocket).isAlive === false) return ws.terminate();
            (ws as ExtWebSocket).isAlive = false;
            ws.ping();
        });
    }, 30000);
    wss.on("close", function close() { clearInterval(interval); });
}

{
    // typed options
    const opts: WebSocket.ServerOptions = { noServer: true, maxPayload: 1024 };
    const pmd: WebSocket.PerMessageDeflateOptions = { threshold: 1024 };
    const vc: WebSocket.VerifyClientCallbackAsync = (info, cb) => cb(info.origin === "x", 401);
    const vs: WebSocket.VerifyClientCallbackSync = (info) => info.secure;
    new WebSocket.Server({ ...opts, perMessageDeflate: pmd, verifyClient: vc });
    new WebSocket.Server({ ...opts, verifyClient: vs });
}

{
    // createWebSocketStream over a server-side connection
    const wss = new WebSocket.Server({ noServer: true });
    wss.on("connection", (ws) => {
        const duplex = WebSocket.createWebSocketStream(ws, { allowHalfOpen: true });
        duplex.pipe(duplex);
    });
}
