"""Headless Chromium (Debian `chromium`) as a real client of what the kiosk writes: a reviewer's browser playing a
take, seeking to its chapters, showing its `<track>` captions.

    with PageServer(folder) as server:                # serves the files of `folder` (with Range: seeking needs it)
        found = server.run_page(html, timeout=90)     # the page (served as /page.html): its first POST to /report

No playwright: the page's own JavaScript reports with `fetch("/report", {method: "POST", body: JSON.stringify(...)})`.
Each run uses a fresh browser profile; the browser and its helper processes end with the run. `video_check_page()`
is a ready page that plays a video and seeks to given times.
"""

from __future__ import annotations

import json
import mimetypes
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

mimetypes.add_type("video/webm", ".webm")
mimetypes.add_type("text/vtt", ".vtt")

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--no-first-run",
                  "--disable-background-networking", "--disable-gpu", "--mute-audio")
CHUNK = 1 << 16


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("chromium is not installed. Fix: run 'make test-setup' (it installs the test packages).")
    return found


class _Handler(BaseHTTPRequestHandler):
    """Files of the folder (single byte ranges, streamed), the page at /page.html, and POST /report."""

    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:     # the test output stays readable
        pass

    def do_GET(self) -> None:
        name = self.path.split("?", 1)[0].lstrip("/")
        if name == "page.html":
            return self._send(HTTPStatus.OK, self.server.page.encode(), "text/html; charset=utf-8")
        path = (self.server.folder / name).resolve()
        if self.server.folder not in path.parents or not path.is_file():
            return self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
        size = path.stat().st_size
        start, end = 0, size - 1
        header = self.headers.get("Range", "")
        ranged = header.startswith("bytes=")
        if ranged:
            first, _, last = header[6:].split(",")[0].partition("-")
            start = int(first) if first else max(0, size - int(last))
            end = min(size - 1, int(last)) if first and last else size - 1
            if start > end:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(HTTPStatus.PARTIAL_CONTENT if ranged else HTTPStatus.OK)
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        with open(path, "rb") as f:                  # streamed: a take may be gigabytes
            f.seek(start)
            remaining = end - start + 1
            try:
                while remaining > 0:
                    chunk = f.read(min(CHUNK, remaining))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass                                 # the browser had what it wanted (it cancels ranges freely)

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
        self._thread = threading.Thread(target=self._server.serve_forever, name="chromium-http", daemon=True)

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
        """Open `html` (as /page.html) in a fresh headless Chromium; return the first report it POSTs to /report."""
        self._server.page = html
        with tempfile.TemporaryDirectory(prefix="kiosk-chromium-", ignore_cleanup_errors=True) as profile:
            # Its own process group: the browser's helpers (zygote, renderer, crashpad) end with it.
            proc = subprocess.Popen([chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                     self.url + "page.html"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                return self._server.reports.get(timeout=timeout)
            except queue.Empty:
                raise RuntimeError(f"the page sent no report within {timeout:g} s") from None
            finally:
                _end_group(proc)


def _end_group(proc: subprocess.Popen) -> None:
    """SIGTERM the browser's process group, SIGKILL it if it lingers; wait until every member is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + 10             # the leader is gone; give its helpers a moment too
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def video_check_page(video: str, seek_to: list[float]) -> str:
    """A page that loads `video` (a file of the served folder), waits for its metadata, seeks to each time of
    `seek_to` in turn and reports {"duration", "width", "height", "seeks": [{"target", "landed"}], "error"}:
    "landed" is currentTime after the `seeked` event; "error" the MediaError code (2 network/damaged, 3 decode,
    4 unsupported) or null. A duration of Infinity (a file without one) arrives as null."""
    return f"""<!doctype html><meta charset="utf-8"><video id="v" muted preload="auto"></video><script>
const targets = {json.dumps(seek_to)};
const v = document.getElementById("v");
const report = (data) => fetch("/report", {{method: "POST", body: JSON.stringify(data)}});
const seeks = [];
v.addEventListener("error", () => report({{error: v.error ? v.error.code : -1, duration: v.duration, seeks}}));
v.addEventListener("loadedmetadata", async () => {{
  for (const target of targets) {{
    await new Promise((done) => {{ v.addEventListener("seeked", done, {{once: true}}); v.currentTime = target; }});
    seeks.push({{target, landed: v.currentTime}});
  }}
  report({{duration: v.duration, width: v.videoWidth, height: v.videoHeight, seeks, error: null}});
}});
v.src = {json.dumps(video)};
</script>"""
