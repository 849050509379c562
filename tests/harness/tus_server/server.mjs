// The official tus server (@tus/server + @tus/file-store) for the kiosk's sync tests and bench.
// Configured by environment: TUS_HOST (127.0.0.1), TUS_PORT (0 = any free port), TUS_DIR (store directory),
// TUS_MAX_SIZE (bytes, 0 = no limit), TUS_TOKEN (if set, requests without "Authorization: Bearer <token>" get 401).
// Prints one JSON line {"url": ..., "port": ...} on stdout once it listens.
import http from "node:http";
import { Server } from "@tus/server";
import { FileStore } from "@tus/file-store";

const host = process.env.TUS_HOST || "127.0.0.1";
const port = Number.parseInt(process.env.TUS_PORT || "0", 10);
const directory = process.env.TUS_DIR || "./files";
const maxSize = Number.parseInt(process.env.TUS_MAX_SIZE || "0", 10);
const token = process.env.TUS_TOKEN || "";

const tus = new Server({
  path: "/files",
  datastore: new FileStore({ directory }),
  maxSize: maxSize > 0 ? maxSize : undefined,
});

const server = http.createServer((req, res) => {
  if (token && req.method !== "OPTIONS" && req.headers.authorization !== `Bearer ${token}`) {
    res.writeHead(401, { "Content-Type": "text/plain", "Tus-Resumable": "1.0.0" });
    res.end("missing or wrong bearer token\n");
    return;
  }
  tus.handle(req, res).catch((err) => {
    console.error("handler failed:", err);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.keepAliveTimeout = 30000;
server.listen({ host, port }, () => {
  const address = server.address();
  console.log(JSON.stringify({ url: `http://${host}:${address.port}/files/`, port: address.port }));
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
