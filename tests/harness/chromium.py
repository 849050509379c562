"""Headless Chromium (Debian `chromium`) as a reviewer's browser: a page with a `<video>` is served from a localhost
HTTP server with Range support (seeking needs it) and posts what it saw back to the same server.

    with PageServer(folder) as server:                # serves the files of `folder`
        found = server.run_page(html, timeout=90)     # the page's first POST to /report, as a dict

No playwright: the browser's own JavaScript reports through fetch(). (A fuller helper may come from the engine work
on issue 13; this one is what the transcript tests need.)
"""

from __future__ import annotations

import json
import mimetypes
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

mimetypes.add_type("video/webm", ".webm")
mimetypes.add_type("text/vtt", ".vtt")


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("chromium is not installed. Fix: run 'make test-setup' (it installs the test packages).")
    return found


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format, *args) -> None:     # the test output stays readable
        pass

    def do_GET(self) -> None:
        name = self.path.split("?", 1)[0].lstrip("/")
        if name == "page.html":
            return self._send(HTTPStatus.OK, self.server.page.encode(), "text/html; charset=utf-8")
        path = (self.server.folder / name).resolve()
        if self.server.folder not in path.parents or not path.is_file():
            return self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
        data = path.read_bytes()
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        header = self.headers.get("Range")
        if header and header.startswith("bytes="):
            first, _, last = header[6:].split(",")[0].partition("-")
            start = int(first) if first else max(0, len(data) - int(last))
            end = int(last) if first and last else len(data) - 1
            end = min(end, len(data) - 1)
            self.send_response(HTTPStatus.PARTIAL_CONTENT)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            body = data[start:end + 1]
        else:
            self.send_response(HTTPStatus.OK)
            body = data
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.reports.put(json.loads(body or b"{}"))
        self._send(HTTPStatus.NO_CONTENT, b"", "text/plain")

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.folder = folder.resolve()
        self.page = ""
        self.reports: queue.Queue[dict] = queue.Queue()


class PageServer:
    def __init__(self, folder: Path) -> None:
        self._server = _Server(Path(folder))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> "PageServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def run_page(self, html: str, timeout: float = 90.0) -> dict:
        """Open `html` (as /page.html) in headless Chromium; return the first report it POSTs to /report."""
        self._server.page = html
        profile = tempfile.mkdtemp(prefix="kiosk-chromium-")
        proc = subprocess.Popen(
            [chromium_binary(), "--headless=new", "--no-sandbox", "--autoplay-policy=no-user-gesture-required",
             "--no-first-run", "--disable-background-networking", "--disable-gpu", "--mute-audio",
             f"--user-data-dir={profile}", self.url + "page.html"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            return self._server.reports.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"the page sent no report within {timeout:g} s") from None
        finally:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(10)
            shutil.rmtree(profile, ignore_errors=True)
