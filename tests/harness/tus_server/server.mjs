// The official tus server (@tus/server + @tus/file-store or @tus/s3-store) for the kiosk's sync tests and bench.
// Configured by environment: TUS_HOST (127.0.0.1), TUS_PORT (0 = any free port), TUS_DIR (store directory),
// TUS_S3_BUCKET + TUS_S3_ENDPOINT (store on that S3 bucket instead of TUS_DIR; credentials "test"/"test" unless
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are set; path-style addressing as MinIO, Ceph and moto want),
// TUS_S3_FAIL_COMPLETE=1 makes the first completion of an S3 multipart upload fail after its last part is stored
// (the state a server killed at that instant leaves behind),
// TUS_MAX_SIZE (bytes, 0 = no limit), TUS_TOKEN (if set, requests without "Authorization: Bearer <token>" get 401).
// TUS_CHECKSUM=1 adds the checksum extension in front of @tus/server (which lacks it) the way tusd offers it:
// OPTIONS advertises it, a PATCH whose body does not match its Upload-Checksum gets 460 and nothing is written.
// TUS_CORRUPT_PATCHES="2,3" flips one byte of those PATCH bodies (1-based count) on arrival, to provoke 460.
// Prints one JSON line {"url": ..., "port": ...} on stdout once it listens.
import crypto from "node:crypto";
import http from "node:http";
import { Server } from "@tus/server";
import { FileStore } from "@tus/file-store";
import { S3Store } from "@tus/s3-store";

const host = process.env.TUS_HOST || "127.0.0.1";
const port = Number.parseInt(process.env.TUS_PORT || "0", 10);
const directory = process.env.TUS_DIR || "./files";
const maxSize = Number.parseInt(process.env.TUS_MAX_SIZE || "0", 10);
const token = process.env.TUS_TOKEN || "";
const checksum = process.env.TUS_CHECKSUM === "1";
const corrupt = new Set((process.env.TUS_CORRUPT_PATCHES || "").split(",").filter(Boolean).map(Number));
const ALGORITHMS = ["sha1", "md5", "sha256"];
let patches = 0;

const s3Bucket = process.env.TUS_S3_BUCKET || "";

function datastore() {
  if (!s3Bucket) return new FileStore({ directory });
  return new S3Store({
    partSize: 8 * 1024 * 1024,
    s3ClientConfig: {
      bucket: s3Bucket,
      endpoint: process.env.TUS_S3_ENDPOINT,
      region: process.env.AWS_REGION || "us-east-1",
      forcePathStyle: true,
      credentials: {
        accessKeyId: process.env.AWS_ACCESS_KEY_ID || "test",
        secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || "test",
      },
    },
  });
}

const store = datastore();
if (s3Bucket && process.env.TUS_S3_FAIL_COMPLETE === "1") {
  const finish = store.finishMultipartUpload.bind(store);
  let failed = false;
  store.finishMultipartUpload = async (...args) => {
    if (failed) return finish(...args);
    failed = true;
    throw new Error("injected: stopped before completing the multipart upload");
  };
}

const tus = new Server({
  path: "/files",
  datastore: store,
  maxSize: maxSize > 0 ? maxSize : undefined,
});

const server = http.createServer((req, res) => {
  if (token && req.method !== "OPTIONS" && req.headers.authorization !== `Bearer ${token}`) {
    res.writeHead(401, { "Content-Type": "text/plain", "Tus-Resumable": "1.0.0" });
    res.end("missing or wrong bearer token\n");
    return;
  }
  const handled = checksum ? withChecksum(req, res) : tus.handle(req, res);
  handled.catch((err) => {
    console.error("handler failed:", err);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
async function sendWeb(res, response, extra = {}) {
  const headers = Object.fromEntries(response.headers.entries());
  res.writeHead(response.status, { ...headers, ...extra });
  res.end(Buffer.from(await response.arrayBuffer()));
}

async function withChecksum(req, res) {
  const url = `http://${req.headers.host}${req.url}`;
  if (req.method === "OPTIONS") {
    const response = await tus.handleWeb(new Request(url, { method: "OPTIONS", headers: req.headers }));
    const extensions = `${response.headers.get("tus-extension")},checksum`;
    return sendWeb(res, response, { "tus-extension": extensions, "tus-checksum-algorithm": ALGORITHMS.join(",") });
  }
  if (req.method !== "PATCH") return tus.handle(req, res);
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  patches += 1;
  if (corrupt.has(patches) && body.length > 0) body[body.length >> 1] ^= 0xff;
  const declared = req.headers["upload-checksum"];
  if (declared) {
    const [algorithm, digest] = declared.split(" ");
    if (!ALGORITHMS.includes(algorithm)) {
      res.writeHead(400, { "Tus-Resumable": "1.0.0" });
      return res.end("unsupported checksum algorithm\n");
    }
    if (crypto.createHash(algorithm).update(body).digest("base64") !== digest) {
      res.writeHead(460, { "Tus-Resumable": "1.0.0" });
      return res.end("checksum mismatch\n");
    }
  }
  const headers = { ...req.headers };
  delete headers["transfer-encoding"];
  const response = await tus.handleWeb(new Request(url, { method: "PATCH", headers, body, duplex: "half" }));
  return sendWeb(res, response);
}

server.keepAliveTimeout = 30000;
server.listen({ host, port }, () => {
  const address = server.address();
  console.log(JSON.stringify({ url: `http://${host}:${address.port}/files/`, port: address.port }));
});
// @tus/server 2.4.5 on Node 20 throws "ReadableStream is already closed" from undici, outside any handler, when a
// client drops a GET download midway, and that ends the process. Log it and keep serving (a production server
// should run under a supervisor that restarts it; the kiosk resumes either way).
process.on("uncaughtException", (err) => {
  console.error("uncaught (server kept running):", err && err.code, err && err.message);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
