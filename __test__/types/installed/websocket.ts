// Server-side parts of DefinitelyTyped types/websocket/websocket-tests.ts and the package README,
// with only the module name changed (see package.spec.js).
import websocket = require("ferrows/websocket");
import http = require("http");
import net = require("net");

function serverTest() {
    var server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
    server.listen(8080, "127.0.0.1", () => {});
    var wsServer = new websocket.server({ httpServer: server, autoAcceptConnections: false });
    function originIsAllowed(origin: string) { return true; }
    wsServer.on("request", (request: websocket.request) => {
        if (!originIsAllowed(request.origin)) { request.reject(); return; }
        var connection = request.accept("echo-protocol", request.origin);
        connection.on("message", (message: websocket.Message) => {
            if (message.type === "utf8") {
                connection.sendUTF(message.utf8Data);
            } else if (message.type === "binary") {
                console.log("Received Binary Message of " + message.binaryData.length + " bytes");
                connection.sendBytes(message.binaryData);
            }
        });
        connection.on("close", (code: number) => {
            console.log(Date.now() + " Peer " + connection.remoteAddress + " disconnected.");
        });
    });

    var wsRouter = new websocket.router({ server: wsServer });
    wsRouter.mount("*", "echo-protocol", (request) => {
        if (!originIsAllowed(request.origin)) { request.reject(); return; }
        var connection = request.accept(request.origin);
        connection.on("message", (message: websocket.Message) => {
            if (message.type === "utf8") connection.sendUTF(message.utf8Data);
            else connection.sendBytes(message.binaryData);
        });
    });
    wsRouter.mount("*", "protocol", (request) => {});
    wsRouter.mount(/^route\/[a-zA-Z]+$/, null, (request) => {});
    wsRouter.unmount("*");
    wsRouter.unmount("*", "protocol");
    wsRouter.unmount(/^route\/[a-zA-Z]+$/);
    wsRouter.unmount(/^route\/[a-zA-Z]+$/, "protocol");
}

function serverTest2() {
    var server = http.createServer((req, rsp) => { rsp.writeHead(200); rsp.end("Hello, world!"); });
    server.listen(8888, "127.0.0.1");
    var wsServer = new websocket.server({ httpServer: server, autoAcceptConnections: true });
    wsServer.on("connect", (conn) => { conn.sendUTF(`Your IP Address is - ${conn.remoteAddress}`); });
}

// ---- more realistic usage against @types/websocket ----
function more() {
    const httpServer = http.createServer();
    const cfg: websocket.IServerConfig = {
        httpServer, maxReceivedFrameSize: 0x10000, maxReceivedMessageSize: 0x100000,
        fragmentOutgoingMessages: true, fragmentationThreshold: 0x4000, keepalive: true,
        keepaliveInterval: 20000, dropConnectionOnKeepaliveTimeout: true, keepaliveGracePeriod: 10000,
        useNativeKeepalive: false, assembleFragments: true, autoAcceptConnections: false,
        ignoreXForwardedFor: false, closeTimeout: 5000, disableNagleAlgorithm: true,
    };
    const base: websocket.IConfig = { maxReceivedFrameSize: 1 };
    const wss = new websocket.server(cfg);
    const clients: websocket.connection[] = [];
    wss.on("request", (req) => {
        const proto: string | undefined = req.requestedProtocols.indexOf("chat") !== -1 ? "chat" : undefined;
        const ext: any[] = req.requestedExtensions;
        if (req.resourceURL.pathname !== "/ws") { req.reject(404, "Not found", { "X-Why": "path" }); return; }
        const extra: object = { "X-Reason": "nope" };
        if (!proto) { req.reject(403, "no proto", extra); return; }
        const conn = req.accept(proto, req.origin, [{ name: "sid", value: "1", httponly: true, secure: true, maxage: 60 }]);
        clients.push(conn);
        conn.socket.setKeepAlive(true, 1000);
        conn.on("frame", (frame: websocket.frame) => console.log(frame.binaryPayload.length));
        conn.on("ping", (cancel, data) => { cancel(); conn.pong(data); });
        conn.on("pong", (data) => {});
        conn.on("error", (err) => console.error(err.message));
        conn.on("drain", () => {});
        conn.on("close", (code, desc) => { clients.splice(clients.indexOf(conn), 1); });
        conn.sendUTF("hi", (err) => { if (err) console.error(err); });
        conn.sendBytes(Buffer.from("x"), (err?: Error) => {});
        conn.send({ toString: () => "x" });
        conn.ping("hb");
        conn.close(websocket.connection.CLOSE_REASON_NORMAL, "bye");
        conn.drop(websocket.connection.CLOSE_REASON_PROTOCOL_ERROR);
        const n: number = websocket.connection.CLOSE_REASON_POLICY_VIOLATION;
        const descs: { [code: number]: string } = websocket.connection.CLOSE_DESCRIPTIONS;
        const ws: number = conn.webSocketVersion;
        const c: boolean = conn.connected;
        const st: string = conn.state;
    });
    wss.on("close", (conn, reason, desc) => {});
    wss.broadcastUTF("x");
    wss.broadcastBytes(Buffer.alloc(1));
    wss.broadcast("x");
    wss.handleUpgrade(new http.IncomingMessage(new net.Socket()), new net.Socket());
    const pend: websocket.request[] = wss.pendingRequests;
    const conf: websocket.IServerConfig | undefined = wss.config;
    wss.shutDown();
    wss.unmount();
    wss.mount(cfg);
    wss.closeAllConnections();

    const r = new websocket.router();
    r.attachServer(wss);
    r.mount("/chat", "chat", (request: websocket.IRouterRequest) => {
        const c = request.accept(request.origin);
        c.sendUTF("hi");
    });
    r.mount("/x", null, (request) => { request.reject(403, "no"); });
    r.detachServer();
    const s: websocket.IStringified = { toString: () => "x" };
    wss.broadcastUTF(s);
    const m: websocket.Message = { type: "utf8", utf8Data: "x" };
    websocket.deprecation.disableWarnings = true;
    const v: string = websocket.version;
}
