"""A misbehaving tus server of the test suite's own: an HTTP front of the real @tus/server that, while a fault is
set, answers the way a broken or hostile server would; with no fault it passes every request through unchanged (so
"the next run against a sane server" is the same URL and the same upload).

Faults: "options-bare" (OPTIONS answered 204 with no Tus-* header, as a cut inside the header block reads),
"headers-cut" (a PATCH is stored upstream, then its answer is cut off in the middle of a header line),
"offset-nonascii" (Upload-Offset: ², a Unicode digit), "offset-huge" (a 5000-digit Upload-Offset),
"location-malformed" (Location: http://[x), "location-foreign" (Location on another origin: by default a `Witness`
that records whatever reaches it; with `.foreign_port` set, that port, e.g. another front of the same server), "no-progress" (every PATCH answered 204 with the offset it came with, nothing stored),
"huge-error-body" (PATCH answered 500 with a 4 GiB body, streamed until the client hangs up).

Fixture: `hostile_tus` (in front of the `tus_server` fixture).
"""

from __future__ import annotations

import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

FAULTS = ("options-bare", "headers-cut", "offset-nonascii", "offset-huge", "location-malformed", "location-foreign", "no-progress",
          "huge-error-body")
HUGE_BODY = 4 * 1024 ** 3


class Witness:
    """Another host as far as the client can tell (its own port): counts every connection and byte that reaches it."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        self.bytes = 0
        threading.Thread(target=self._accept, name="witness", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                while data := conn.recv(65536):
                    self.bytes += len(data)
            except OSError:
                return

    def close(self) -> None:
        self._listener.close()


class HostileTus:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.fault: str | None = None
        self.witness = Witness()
        self.foreign_port: int | None = None
        self.requests: list[tuple[str, str, dict[str, str]]] = []     # (method, path, headers) of every request
        self.error_body_sent = 0          # bytes of the huge error body that left before the client hung up
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/files/"
        threading.Thread(target=self._server.serve_forever, name="hostile-tus", daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.witness.close()


def _handler_for(hostile: HostileTus):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args) -> None:      # quiet: the test reads hostile.requests
            return

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
            conn = http.client.HTTPConnection(*hostile.upstream, timeout=30)
            try:
                # The client's Host header goes along, so the server's Location names this front, as behind any
                # reverse proxy.
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers.items():
                    conn.putheader(name, value)
                conn.endheaders(body if body or self.command in ("POST", "PATCH") else None)
                response = conn.getresponse()
                data = response.read()
                out = {k: v for k, v in response.getheaders()
                       if k.lower() not in ("content-length", "transfer-encoding", "connection", "keep-alive")}
                return response.status, out, data
            finally:
                conn.close()

        def _handle(self) -> None:
            hostile.requests.append((self.command, self.path, dict(self.headers.items())))
            body = self._body()
            fault = hostile.fault
            if fault == "no-progress" and self.command == "PATCH":
                self._send(204, {"Tus-Resumable": "1.0.0", "Upload-Offset": self.headers.get("Upload-Offset", "0")})
                return
            if fault == "huge-error-body" and self.command == "PATCH":
                self._huge_error()
                return
            if fault == "options-bare" and self.command == "OPTIONS":
                self._send(204, {})
                return
            status, headers, data = self._forward(body)
            if fault == "headers-cut" and self.command == "PATCH":
                self.wfile.write(f"HTTP/1.1 {status} No Content\r\nTus-Resumable: 1.0.0\r\nUpload-Off".encode())
                self.wfile.flush()
                self.close_connection = True
                return
            if fault in ("offset-nonascii", "offset-huge") and self.command in ("PATCH", "HEAD"):
                for name in list(headers):
                    if name.lower() == "upload-offset":
                        headers[name] = "\u00b2" if fault == "offset-nonascii" else "9" * 5000
            if self.command == "POST" and status == 201 and fault in ("location-malformed", "location-foreign"):
                for name in list(headers):
                    if name.lower() == "location":
                        upload_id = urlsplit(headers[name]).path.rsplit("/", 1)[-1]
                        headers[name] = ("http://[x" if fault == "location-malformed"
                                         else f"http://127.0.0.1:{hostile.foreign_port or hostile.witness.port}"
                                              f"/files/{upload_id}")
            self._send(status, headers, data)

        def _huge_error(self) -> None:
            self.send_response(500)
            self.send_header("Tus-Resumable", "1.0.0")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(HUGE_BODY))
            self.end_headers()
            block = b"x" * 65536
            try:
                while hostile.error_body_sent < HUGE_BODY:
                    self.wfile.write(block)
                    hostile.error_body_sent += len(block)
            except OSError:
                pass
            self.close_connection = True

        do_OPTIONS = do_HEAD = do_POST = do_PATCH = do_GET = do_DELETE = _handle

    return Handler


@pytest.fixture
def hostile_tus(tus_server):
    """A HostileTus in front of `tus_server`: set .fault to one of FAULTS (None = pass through)."""
    hostile = HostileTus(tus_server.port)
    yield hostile
    hostile.close()
