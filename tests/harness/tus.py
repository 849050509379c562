"""The tus server the sync tests talk to: the official @tus/server + @tus/file-store (tests/harness/tus_server) as a
subprocess on 127.0.0.1, and a TCP proxy that cuts connections at chosen byte offsets.

Fixtures: `tus_server` (a fresh server and store per test), `tus_server_factory` (for token / size-limit variants),
`fault_proxy` (a proxy in front of `tus_server`). `checksum=True` puts the checksum extension (tusd's behaviour,
which @tus/server lacks) in front of it; `corrupt_patches=(2,)` flips a byte of the 2nd PATCH body to provoke 460.
`s3=S3Bucket(moto_server, bucket)` stores on S3 (@tus/s3-store) instead of a directory; `s3_fail_complete=True` makes
the first multipart completion fail after the last part is stored.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_DIR = Path(__file__).resolve().parent / "tus_server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StoredUpload:
    id: str
    size: int | None
    offset: int               # bytes on disk
    metadata: dict[str, str]
    path: Path


class TusServer:
    """`node server.mjs` on a fixed loopback port (so upload URLs stay valid across kill/restart)."""

    def __init__(self, store: Path, *, token: str = "", max_size: int = 0, port: int | None = None,
                 checksum: bool = False, corrupt_patches: tuple[int, ...] = (), s3: "S3Bucket | None" = None,
                 s3_fail_complete: bool = False) -> None:
        self.store = Path(store)
        self.s3 = s3
        self.s3_fail_complete = s3_fail_complete
        self.checksum = checksum
        self.corrupt_patches = corrupt_patches
        self.token = token
        self.max_size = max_size
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/files/"
        self.process: subprocess.Popen | None = None
        self.log_path = self.store.parent / f"tus-server-{self.port}.log"

    def start(self, timeout: float = 20.0) -> "TusServer":
        if not (SERVER_DIR / "node_modules" / "@tus" / "server").is_dir():
            raise pytest.UsageError("the tus test server is not installed. Fix: run 'make test-setup' "
                                    "(npm ci in tests/harness/tus_server).")
        node = shutil.which("node")
        if node is None:
            raise pytest.UsageError("node is not installed. Fix: run 'make test-setup'.")
        self.store.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TUS_PORT": str(self.port), "TUS_DIR": str(self.store),
               "TUS_MAX_SIZE": str(self.max_size), "TUS_TOKEN": self.token,
               "TUS_CHECKSUM": "1" if self.checksum else "0",
               "TUS_CORRUPT_PATCHES": ",".join(map(str, self.corrupt_patches))}
        if self.s3 is not None:
            env.update(self.s3.server.env, TUS_S3_BUCKET=self.s3.bucket, TUS_S3_ENDPOINT=self.s3.server.endpoint,
                       TUS_S3_FAIL_COMPLETE="1" if self.s3_fail_complete else "0")
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([node, "server.mjs"], cwd=SERVER_DIR, env=env, stdout=subprocess.PIPE,
                                        stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        # The server prints one JSON line once it listens.
        line = b""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line or self.process.poll() is not None:
                break
        if not line.strip().startswith(b"{"):
            self.kill()
            raise RuntimeError(f"tus server did not start: {self.log_path.read_text(errors='replace')[-2000:]}")
        assert json.loads(line)["port"] == self.port
        return self

    def kill(self) -> None:
        """SIGKILL: the server dies mid-request, as in a crash or power cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()
        self.process = None

    def restart(self) -> "TusServer":
        self.kill()
        return self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.kill()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def uploads(self) -> list[StoredUpload]:
        """Every upload in the store, with its decoded metadata and the bytes on disk (file store only)."""
        if self.s3 is not None:
            raise TypeError("an S3-backed server's uploads are read with S3Bucket (tests/harness/s3.py)")
        found = []
        for info in sorted(self.store.glob("*.json")):
            data = json.loads(info.read_text())
            blob = info.with_suffix("")
            metadata = {k: (v if v is None else str(v)) for k, v in (data.get("metadata") or {}).items()}
            found.append(StoredUpload(id=data["id"], size=data.get("size"),
                                      offset=blob.stat().st_size if blob.exists() else 0,
                                      metadata=metadata, path=blob))
        return found


@dataclass(frozen=True)
class S3Bucket:
    """Where an S3-backed tus server stores: a bucket on a `MotoServer` (tests/harness/s3.py)."""

    server: object
    bucket: str


@pytest.fixture
def tus_server_factory(tmp_path):
    servers: list[TusServer] = []

    def make(**kwargs) -> TusServer:
        server = TusServer(tmp_path / f"tus-store-{len(servers)}", **kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def tus_server(tus_server_factory) -> TusServer:
    """A fresh @tus/server with a file store under tmp_path; .url, .kill(), .restart(), .store, .uploads()."""
    return tus_server_factory()


class FaultProxy:
    """A TCP proxy on 127.0.0.1 that forwards to a target and, when armed, cuts the connection carrying the byte at
    a given offset (counted over both directions of all connections from the moment it was armed)."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._armed_at: int | None = None     # remaining bytes before the cut
        self.cuts = 0
        self.connections = 0
        self.bytes = 0
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    def url(self, path: str = "/files/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def arm(self, after_bytes: int) -> None:
        with self._lock:
            self._armed_at = max(0, int(after_bytes))

    def disarm(self) -> None:
        with self._lock:
            self._armed_at = None

    @property
    def armed(self) -> bool:
        with self._lock:
            return self._armed_at is not None

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self.connections += 1
            pair = _Pair(client, upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(pair, src, dst), daemon=True).start()

    def _pump(self, pair: "_Pair", src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            cut = False
            with self._lock:
                if self._armed_at is not None and self._armed_at < len(data):
                    data, cut = data[:self._armed_at], True
                    self._armed_at = None
                    self.cuts += 1
                elif self._armed_at is not None:
                    self._armed_at -= len(data)
                self.bytes += len(data)
            try:
                if data:
                    dst.sendall(data)
            except OSError:
                break
            if cut:
                break
        pair.close()


class _Pair:
    def __init__(self, a: socket.socket, b: socket.socket) -> None:
        self.sockets = (a, b)
        self._done = False
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@pytest.fixture
def fault_proxy(tus_server):
    proxy = FaultProxy(tus_server.port)
    yield proxy
    proxy.close()


def decode_metadata_header(value: str) -> dict[str, str]:
    """Parse an Upload-Metadata header (for tests that look at the raw protocol)."""
    result = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        key, _, encoded = pair.partition(" ")
        result[key] = base64.b64decode(encoded).decode("utf-8") if encoded else ""
    return result


def random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def make_test_ca_and_cert(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for `host` (IP SAN) signed by it: (ca_cert, cert, key).
    Proper CA and leaf extensions, as Python 3.13's strict verification requires."""
    ca_key, ca_cert = directory / "test-ca.key", directory / "test-ca.pem"
    key, csr, cert = directory / "tls.key", directory / "tls.csr", directory / "tls.pem"
    ext = directory / "tls.ext"
    ext.write_text(f"subjectAltName=IP:{host}\nbasicConstraints=critical,CA:FALSE\n"
                   f"keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
                   f"authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kiosk test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", str(ca_key), "-out", str(ca_cert))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host}", "-keyout", str(key), "-out", str(csr))
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
            "-days", "2", "-extfile", str(ext), "-out", str(cert))
    return ca_cert, cert, key


class TlsProxy:
    """HTTPS in front of the tus server: terminates TLS on 127.0.0.1 and forwards plain HTTP, like a reverse proxy
    that does not tell the server (so the server's Location headers say http://)."""

    def __init__(self, target_port: int, cert: Path, key: Path) -> None:
        import ssl
        self.target = ("127.0.0.1", target_port)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}/files/"
        self.requests = 0
        self._closed = False
        threading.Thread(target=self._accept, name="tls-proxy", daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        import select
        try:
            client = self._context.wrap_socket(raw, server_side=True)
        except OSError:
            raw.close()        # e.g. a client that refuses our certificate
            return
        upstream = socket.create_connection(self.target, timeout=5)
        self.requests += 1
        # One thread per connection and select(): an SSL socket must not be read and written from two threads.
        try:
            while True:
                ready = [client] if client.pending() else select.select([client, upstream], [], [], 30)[0]
                if not ready:
                    break
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)
        except OSError:
            return
        finally:
            for s in (client, upstream):
                try:
                    s.close()
                except OSError:
                    pass


@pytest.fixture
def tus_https(tus_server_factory, tmp_path):
    """The tus server (token "tls-token") behind HTTPS with a private CA's certificate: (proxy, server, ca_path)."""
    server = tus_server_factory(token="tls-token")
    ca, cert, key = make_test_ca_and_cert(tmp_path)
    proxy = TlsProxy(server.port, cert, key)
    yield proxy, server, ca
    proxy.close()
