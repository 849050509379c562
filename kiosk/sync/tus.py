"""The one module that talks to the sync server: a tus 1.0 client on `requests`.

Core protocol plus the creation extension; checksum (``Upload-Checksum`` on every PATCH) and termination when the
server's OPTIONS answer offers them; an optional read-back of the finished upload (GET, which tusd and @tus/server
serve) compared with the file's sha256. The file is streamed from disk in blocks (kiosk.sync.stream), so memory stays
O(block) whatever the chunk size. Where an upload stands (its URL and the confirmed offset) lives in an
:class:`UploadRecord` that the caller persists (the worker uses the database row), so an upload resumes at the server's
``Upload-Offset`` after a dropped connection, a server restart or a reboot: never from zero, never as a second upload.

The server is not trusted: every header the client acts on is parsed strictly (ASCII digits, bounded length), a
``Location`` must stay on the configured server's origin unless ``sync.allowed_hosts`` lists its host, a chunk the
server accepts without moving its offset stops the upload after a few tries, and a response body is read only up to
a small cap (the read-back GET up to the file's size). Anything else is a :class:`TusError` naming the server and the
header. Errors come out as :class:`TusError` subclasses (kiosk.sync.errors) whose ``retryable`` says whether backing
off and trying again can help. The bearer token goes only to the configured origin, over HTTPS or to a loopback
address, and never appears in a log line or an error.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Mapping, Protocol
from urllib.parse import urljoin, urlsplit

import requests

from kiosk.sync.errors import (Paused, TusConfigError, TusError, TusProtocolError, TusRejected, TusUnavailable,
                               UploadGone, VerifyFailed)
from kiosk.sync import headers as tus_headers
from kiosk.sync.headers import Answer, encode_metadata, is_loopback, printable, safe_url, same_origin
from kiosk.sync.stream import BLOCK_SIZE, SEND_BLOCK, ChunkBody, PauseRequested, Throttle, file_sha256, range_digest

log = logging.getLogger(__name__)


class _HeaderDefectFilter(logging.Filter):
    """urllib3 logs a damaged header block as a WARNING with a traceback and carries on; the client turns it into a
    TusProtocolError of its own (see TusClient._request), so the warning would only put a traceback on a terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to parse headers")


logging.getLogger("urllib3.connection").addFilter(_HeaderDefectFilter())

__all__ = ["TusClient", "MemoryRecord", "UploadRecord", "UploadResult", "ServerCapabilities", "Throttle",
           "file_sha256", "encode_metadata", "is_loopback", "same_origin", "safe_url", "SEND_BLOCK", "TusError",
           "TusConfigError", "TusUnavailable", "TusProtocolError", "TusRejected", "UploadGone", "VerifyFailed",
           "Paused"]

TUS_VERSION = "1.0.0"
DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
# tus checksum algorithm names, best first, that hashlib provides.
_CHECKSUM_PREFERENCE = ("sha256", "sha512", "sha1", "md5")
# Statuses that retrying the same request cannot fix: the item stops with a clear status.
BLOCKING_STATUSES = {400, 401, 403, 405, 412, 413, 415}
CHECKSUM_MISMATCH = 460
MAX_CHECKSUM_RETRIES = 3
MAX_OFFSET_RESYNCS = 5
MAX_STALLED_CHUNKS = 3          # PATCHes in a row that leave the server's offset where it was: stop the upload
MAX_BODY_BYTES = 4096           # of any answer but the read-back: enough for an error line


class UploadRecord(Protocol):
    """Where one upload stands; `save()` persists both fields (a SyncState row satisfies this)."""

    upload_url: str | None
    offset: int

    def save(self) -> object: ...


@dataclass
class MemoryRecord:
    """An UploadRecord kept in memory (tests, one-shot uploads)."""

    upload_url: str | None = None
    offset: int = 0
    saves: int = 0

    def save(self) -> None:
        self.saves += 1


@dataclass(frozen=True)
class ServerCapabilities:
    versions: tuple[str, ...]
    extensions: frozenset[str]
    checksum_algorithms: tuple[str, ...]
    max_size: int | None

    def has(self, extension: str) -> bool:
        return extension in self.extensions

    @property
    def checksum_algorithm(self) -> str | None:
        """The best algorithm both sides know, if the server offers the checksum extension."""
        if not self.has("checksum"):
            return None
        for name in _CHECKSUM_PREFERENCE:
            if name in self.checksum_algorithms:
                return name
        return None


@dataclass(frozen=True)
class UploadResult:
    url: str
    size: int
    sha256: str
    resumed_from: int          # the server's offset when this call started (0 for a fresh upload)
    bytes_sent: int            # body bytes this call sent
    seconds: float
    verified_by: tuple[str, ...]   # "offset" always; "checksum" when every PATCH carried one; "readback" when GET matched


class TusClient:
    """A tus 1.0 client for one server endpoint (the creation URL). Use one per thread.

    `allowed_hosts`: (host, port or None) pairs, besides the endpoint's origin, that an upload's `Location` may point
    at (a CDN or a second front end of the same centre); they never receive the token.
    """

    def __init__(self, endpoint: str, *, token: str = "", ca_bundle: str = "", chunk_size: int = DEFAULT_CHUNK_SIZE,
                 throttle: Throttle | None = None, verify: bool = True,
                 timeout: tuple[float, float] = (10.0, 60.0),
                 allowed_hosts: Iterable[tuple[str, int | None]] = ()) -> None:
        try:
            parts = urlsplit(endpoint)
            parts.port
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise TusConfigError(f"sync server URL {endpoint!r} is not an http(s) URL. "
                                 f"Fix: set sync.server_url to e.g. https://centre.example.org/files/")
        if token and parts.scheme != "https" and not is_loopback(endpoint):
            raise TusConfigError(f"refusing to send the sync token over plain HTTP to {parts.hostname}. "
                                 f"Fix: use an https:// sync.server_url (plain http is allowed only on loopback).")
        if ca_bundle and not Path(ca_bundle).is_file():
            raise TusConfigError(f"sync.ca_bundle {ca_bundle!r} is not a file. Fix: give the path of a PEM CA bundle.")
        if chunk_size < 1:
            raise TusConfigError("chunk size must be at least 1 byte")
        self.endpoint = endpoint
        self.server = f"sync server {safe_url(f'{parts.scheme}://{parts.netloc}')}"
        self.chunk_size = int(chunk_size)
        self.throttle = throttle
        self.verify_upload = verify
        self.timeout = timeout
        self.allowed_hosts = tuple((host.lower(), port) for host, port in allowed_hosts)
        self._token = token
        self._session = requests.Session()
        # Passed on every request: a session-level `verify` loses to REQUESTS_CA_BUNDLE in the environment.
        self._verify: str | bool = ca_bundle or True
        self._session.headers["Tus-Resumable"] = TUS_VERSION
        self._session.headers["User-Agent"] = "kiosk-interview-recorder-sync"
        self._capabilities: ServerCapabilities | None = None

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "TusClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- one request each ------------------------------------------------------------------------------------------
    def _request(self, method: str, url: str, **kwargs) -> requests.Response:
        """Send one request; the answer's body is left unread (stream), for the caller to read to its cap."""
        headers = dict(kwargs.pop("headers", None) or {})
        # The token goes only to the configured server's origin (a Location elsewhere never receives it).
        if self._token and same_origin(url, self.endpoint):
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = self._session.request(method, url, headers=headers, timeout=self.timeout,
                                             verify=self._verify, allow_redirects=False, stream=True, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise TusUnavailable(f"{method} {safe_url(url)}: TLS verification failed ({_reason(exc)}). "
                                 f"Fix: set sync.ca_bundle to the server's CA certificate.") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            # Retried with backoff; the fix is for whoever reads the admin console or `kiosk sync`.
            raise TusUnavailable(f"{method} {safe_url(url)}: {_reason(exc)}. Uploads wait and retry by themselves. "
                                 f"Fix: check the kiosk's network and that sync.server_url is right and the "
                                 f"server is running.") from None
        except (requests.RequestException, http.client.HTTPException, ValueError) as exc:
            # A malformed status line or header block (urllib3/http.client refuse it) or a redirect loop.
            raise TusProtocolError(f"{method} {safe_url(url)}: the {self.server} sent an answer that is not valid "
                                   f"HTTP ({_reason(exc)}). Fix: check that sync.server_url is a tus 1.0 server.") \
                from None
        # The parsed header block (requests reads cookies from the same attribute).
        message = getattr(getattr(response.raw, "_original_response", None), "msg", None)
        if getattr(message, "defects", None):
            # The header block ended in the middle (a cut connection) or is malformed: http.client keeps what it
            # parsed and urllib3 only warns, so the answer would pass for a complete one without its last headers.
            response.close()
            raise TusProtocolError(f"{method} {safe_url(url)}: the {self.server}'s answer ended inside its headers "
                                   f"or they are malformed ({message.defects[0].__class__.__name__}). Uploads wait "
                                   f"and retry by themselves.")
        return response

    def _exchange(self, method: str, url: str, **kwargs) -> Answer:
        """One request whose answer body is read up to MAX_BODY_BYTES; a longer body is not downloaded."""
        response = self._request(method, url, **kwargs)
        body = b""
        try:
            for block in response.iter_content(1024):
                body += block
                if len(body) >= MAX_BODY_BYTES:
                    break
        except (requests.RequestException, http.client.HTTPException, ValueError) as exc:
            log.info("%s %s: the answer's body could not be read (%s)", method, safe_url(url), _reason(exc))
        finally:
            # Closing a response read only partly drops its connection (urllib3 does not drain the rest).
            response.close()
        return Answer(response.status_code, response.reason or "", response.headers, body[:MAX_BODY_BYTES])

    def _fail(self, method: str, url: str, answer: Answer) -> TusError:
        status = answer.status
        text = f"{method} {safe_url(url)} -> {status} {printable(answer.reason)[:80]}".strip()
        line = answer.first_line()
        if line:
            text += f": {line}"
        if status in (401, 403):
            return TusRejected(f"{text}. Fix: check sync.token with the server's administrator.", status)
        if status == 413:
            return TusRejected(f"{text}. The server does not accept a file this large; ask its administrator "
                               f"to raise the limit.", status)
        if status in (404, 410):
            return UploadGone(text, status)
        if status in BLOCKING_STATUSES:
            return TusRejected(f"{text}. Fix: check that sync.server_url is a tus 1.0 endpoint.", status)
        return TusUnavailable(text, status)

    # --- strict reading of what the server said ---------------------------------------------------------------------
    def _malformed(self, method: str, name: str, raw: str, expected: str) -> TusProtocolError:
        shown = repr(raw[:40]) + ("..." if len(raw) > 40 else "")
        return TusProtocolError(f"the {self.server} answered {method} with a malformed {name} header ({shown}, "
                                f"{len(raw)} characters): expected {expected}. Fix: check that sync.server_url is a "
                                f"tus 1.0 server and that no proxy in front of it rewrites its headers.")

    def _header_int(self, answer: Answer, method: str, name: str, *, required: bool) -> int | None:
        raw = answer.headers.get(name)
        if raw is None or (raw == "" and not required):
            if required:
                raise TusProtocolError(f"the {self.server} answered {method} without the {name} header that tus "
                                       f"1.0 requires. Fix: check that sync.server_url is a tus 1.0 server.")
            return None
        value = tus_headers.parse_int(raw)
        if value is None:
            raise self._malformed(method, name, raw, f"ASCII digits (at most {tus_headers.MAX_DIGITS})")
        return value

    def _header_list(self, answer: Answer, method: str, name: str) -> list[str]:
        raw = answer.headers.get(name, "")
        items = tus_headers.parse_list(raw)
        if items is None:
            raise self._malformed(method, name, raw, f"a comma-separated list of names (at most "
                                  f"{tus_headers.MAX_LIST_HEADER} characters)")
        return items

    def _location(self, answer: Answer) -> str:
        """The absolute upload URL from a creation answer, refused unless it stays on an allowed origin."""
        raw = answer.headers.get("Location", "")
        if not raw or len(raw) > tus_headers.MAX_LOCATION or not raw.isascii() or not raw.isprintable():
            raise self._malformed("POST", "Location", raw, f"a URL of at most {tus_headers.MAX_LOCATION} ASCII "
                                  f"characters")
        try:
            url = urljoin(self.endpoint, raw.strip())
            location = urlsplit(url)
            location.port
        except ValueError:
            raise self._malformed("POST", "Location", raw, "a URL") from None
        if location.scheme not in ("http", "https") or not location.hostname:
            raise self._malformed("POST", "Location", raw, "an http(s) URL")
        endpoint = urlsplit(self.endpoint)
        if endpoint.scheme == "https" and location.scheme == "http" and location.hostname == endpoint.hostname:
            # A server behind a TLS proxy that does not know it (tusd without -behind-proxy): stay on HTTPS.
            url = location._replace(scheme="https", netloc=endpoint.netloc).geturl()
            log.info("the server answered with a plain-http upload URL; using %s", safe_url(url))
        problem = self.url_problem(url)
        if problem:
            raise TusProtocolError(f"the {self.server} answered POST with a Location {problem}. Nothing was sent "
                                   f"there.")
        return url

    def url_problem(self, url: str) -> str:
        """Why an upload URL may not receive this kiosk's files ("" when it may): it must be on the endpoint's origin,
        or on a host in allowed_hosts over a scheme no weaker than the endpoint's."""
        if same_origin(url, self.endpoint):
            return ""
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return "that is not a valid URL"
        listed = any(host == allowed and (allowed_port is None or allowed_port == port)
                     for allowed, allowed_port in self.allowed_hosts)
        if not listed:
            return (f"on another origin ({safe_url(url)}). Fix: if that host belongs to the centre, add "
                    f"\"{host}:{port}\" to sync.allowed_hosts")
        if urlsplit(self.endpoint).scheme == "https" and parts.scheme != "https":
            return f"in plain http ({safe_url(url)}) although sync.server_url uses https. Fix: the server must " \
                   f"answer with an https:// upload URL"
        return ""

    # --- the protocol ------------------------------------------------------------------------------------------------
    def capabilities(self, refresh: bool = False) -> ServerCapabilities:
        """Ask the server (OPTIONS) which versions and extensions it supports; cached per client."""
        if self._capabilities is not None and not refresh:
            return self._capabilities
        answer = self._exchange("OPTIONS", self.endpoint)
        if answer.status not in (200, 204):
            raise self._fail("OPTIONS", self.endpoint, answer)
        if answer.headers.get("Tus-Version") is None:
            # tus 1.0 requires it. Seen in the fleet test: a connection cut inside the header block reads as a
            # complete answer without the Tus-* headers; it must not pass for "a server without extensions".
            raise TusProtocolError(f"the {self.server} answered OPTIONS without the Tus-Version header that tus 1.0 "
                                   f"requires (a connection cut mid-answer, or not a tus server). Fix: check that "
                                   f"sync.server_url is a tus 1.0 endpoint.")
        versions = tuple(self._header_list(answer, "OPTIONS", "Tus-Version"))
        if TUS_VERSION not in versions:
            raise TusRejected(f"server at {safe_url(self.endpoint)} speaks tus {', '.join(versions)}, not "
                              f"{TUS_VERSION}. Fix: point sync.server_url at a tus 1.0 endpoint.")
        max_size = self._header_int(answer, "OPTIONS", "Tus-Max-Size", required=False)
        extensions = frozenset(self._header_list(answer, "OPTIONS", "Tus-Extension"))
        if "creation" not in extensions:
            # Not cached and retried with back-off: a cut answer can lose this header too.
            raise TusProtocolError(f"the {self.server} does not offer the tus creation extension (Tus-Extension: "
                                   f"{', '.join(sorted(extensions)) or 'none'}). Fix: use a tus server that lets "
                                   f"clients create uploads (tusd, @tus/server).")
        self._capabilities = ServerCapabilities(
            versions=versions, extensions=extensions,
            checksum_algorithms=tuple(a.lower() for a in self._header_list(answer, "OPTIONS",
                                                                            "Tus-Checksum-Algorithm")),
            max_size=max_size if max_size else None,
        )
        log.info("sync server %s: tus %s, extensions %s", safe_url(self.endpoint), ",".join(versions),
                 ",".join(sorted(extensions)))
        return self._capabilities

    def create(self, size: int, metadata: Mapping[str, object]) -> str:
        """POST a new upload of `size` bytes; returns its absolute URL."""
        self.capabilities()             # offers creation, or raised
        headers = {"Upload-Length": str(size), "Content-Length": "0"}
        encoded = encode_metadata(metadata)
        if encoded:
            headers["Upload-Metadata"] = encoded
        answer = self._exchange("POST", self.endpoint, headers=headers)
        if answer.status != 201:
            raise self._fail("POST", self.endpoint, answer)
        url = self._location(answer)
        log.info("created upload %s (%d bytes)", safe_url(url), size)
        return url

    def status(self, url: str) -> tuple[int, int | None]:
        """HEAD: the server's (Upload-Offset, Upload-Length or None)."""
        answer = self._exchange("HEAD", url)
        if answer.status not in (200, 204):
            raise self._fail("HEAD", url, answer)
        offset = self._header_int(answer, "HEAD", "Upload-Offset", required=True)
        return offset, self._header_int(answer, "HEAD", "Upload-Length", required=False)

    def read_back_sha256(self, url: str, size: int, should_pause: Callable[[], bool] | None = None) -> str | None:
        """GET the finished upload and hash it (at most `size` + 1 bytes are read); None when the server does not
        serve GET. Raises Paused when `should_pause` turns true midway (the next attempt reads it back again)."""
        response = self._request("GET", url)
        with response:
            if response.status_code in (404, 405, 501):
                return None
            if response.status_code != 200:
                body = b""
                for block in response.iter_content(MAX_BODY_BYTES):
                    body = block
                    break
                raise self._fail("GET", url, Answer(response.status_code, response.reason or "", response.headers,
                                                    body[:MAX_BODY_BYTES]))
            digest = hashlib.sha256()
            received = 0
            try:
                for block in response.iter_content(BLOCK_SIZE):
                    received += len(block)
                    if received > size:
                        # A longer copy cannot match: stop reading (a hostile server could send forever).
                        return f"longer than {size} bytes"
                    digest.update(block)
                    if should_pause is not None and should_pause():
                        raise Paused(f"paused while reading back {safe_url(url)}")
            except (requests.RequestException, http.client.HTTPException, ValueError) as exc:
                raise TusUnavailable(f"GET {safe_url(url)}: {_reason(exc)}") from None
            if received < size:
                # A cut connection, not a wrong copy: read it back again later (the upload itself is kept).
                raise TusUnavailable(f"GET {safe_url(url)}: the read-back ended after {received} of {size} bytes")
            return digest.hexdigest()

    def _read_back_finishing(self, url: str, size: int, should_pause: Callable[[], bool] | None) -> str | None:
        """The read-back; when the server holds every byte but fails to serve them (5xx), one empty PATCH at the
        final offset first lets it finish the upload. Found on @tus/s3-store: killed between storing the last part
        and completing the S3 multipart upload, it reports the full offset forever but has no object to serve."""
        try:
            return self.read_back_sha256(url, size, should_pause)
        except TusUnavailable as exc:
            if exc.status is None or exc.status < 500:
                raise
            log.info("the server holds all %d bytes of %s but cannot serve them (%s); asking it to finish the "
                     "upload", size, safe_url(url), exc)
        answer = self._exchange("PATCH", url, data=b"", headers={
            "Upload-Offset": str(size), "Content-Length": "0", "Content-Type": "application/offset+octet-stream"})
        if answer.status not in (200, 204):
            raise self._fail("PATCH", url, answer)
        return self.read_back_sha256(url, size, should_pause)

    def terminate(self, url: str) -> bool:
        """DELETE an upload where the server offers termination; True when it is gone."""
        if not self.capabilities().has("termination"):
            return False
        answer = self._exchange("DELETE", url)
        if answer.status in (204, 404, 410):
            return True
        raise self._fail("DELETE", url, answer)

    def _patch(self, f: BinaryIO, url: str, offset: int, length: int, algorithm: str | None,
               should_pause: Callable[[], bool] | None = None) -> tuple[Answer | None, int]:
        """One PATCH; (None, sent) when `should_pause` turned true while sending (the request was abandoned)."""
        headers = {"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        if algorithm:
            digest = range_digest(f, offset, length, algorithm)
            headers["Upload-Checksum"] = f"{algorithm} {base64.b64encode(digest).decode('ascii')}"
        body = ChunkBody(f, offset, length, self.throttle, should_pause)
        headers["Content-Length"] = str(length)
        try:
            answer = self._exchange("PATCH", url, data=body, headers=headers)
        except (PauseRequested, TusUnavailable):
            if body.paused:
                return None, body.sent
            raise
        return answer, body.sent

    # --- a whole upload ----------------------------------------------------------------------------------------------
    def _resume_point(self, path: Path, size: int, url: str | None) -> tuple[str | None, int]:
        """Where a stored upload stands on the server: (url, offset), or (None, 0) to start a new upload."""
        if not url:
            return None, 0
        problem = self.url_problem(url)
        if problem:
            # The record is from another server (sync.server_url or --server changed): never send it there.
            log.info("the stored upload URL of %s is %s; starting a new upload on %s", path.name,
                     problem.split(". Fix")[0], safe_url(self.endpoint))
            return None, 0
        try:
            offset, length = self.status(url)
        except UploadGone:
            log.warning("the server no longer has upload %s of %s; starting it again", safe_url(url), path.name)
            return None, 0
        if length is not None and length != size:
            raise TusRejected(f"upload {safe_url(url)} is {length} bytes on the server but {path.name} is "
                              f"{size} bytes; the local file changed. Fix: restore the original file.")
        if offset > size:
            raise TusRejected(f"upload {safe_url(url)} reports offset {offset} beyond the file's {size} bytes")
        return url, offset

    def upload(self, path: str | os.PathLike, record: UploadRecord, *, metadata: Mapping[str, object] | None = None,
               sha256: str | None = None, on_progress: Callable[[int, int], None] | None = None,
               should_pause: Callable[[], bool] | None = None) -> UploadResult:
        """Upload `path`, resuming from `record` if it holds an upload URL. Returns when the server holds every byte.

        `record.save()` is called after the upload is created and after every confirmed chunk. Raises a TusError;
        calling again with the same record resumes at the server's offset.
        """
        path = Path(path)
        started = time.monotonic()
        size = path.stat().st_size
        sha256 = sha256 or file_sha256(path, should_pause)
        caps = self.capabilities()
        if caps.max_size is not None and size > caps.max_size:
            raise TusRejected(f"{path.name} is {size} bytes; the server accepts at most {caps.max_size} "
                              f"(Tus-Max-Size). Ask the server's administrator to raise the limit.", 413)
        url, offset = self._resume_point(path, size, record.upload_url)
        if not url:
            url = self.create(size, {**(metadata or {}), "sha256": sha256} if metadata is not None
                              else {"filename": path.name, "sha256": sha256})
            offset = 0
        record.upload_url, record.offset = url, offset
        record.save()
        resumed_from = offset
        algorithm = caps.checksum_algorithm
        sent = 0
        mismatches = resyncs = stalls = 0
        furthest = offset
        with open(path, "rb") as f:
            while offset < size:
                if should_pause is not None and should_pause():
                    raise Paused(f"paused at {offset} of {size} bytes")
                length = min(self.chunk_size, size - offset)
                answer, n = self._patch(f, url, offset, length, algorithm, should_pause)
                sent += n
                if answer is None:
                    try:    # where the server stands now, for the progress shown while paused
                        record.offset, _ = self.status(url)
                        record.save()
                    except TusError as exc:
                        log.info("could not read the offset of %s after pausing: %s", safe_url(url), exc)
                    raise Paused(f"paused at {record.offset} of {size} bytes")
                status = answer.status
                if status == CHECKSUM_MISMATCH:
                    mismatches += 1
                    log.info("server reports a checksum mismatch for %s at %d (%d of %d tries)", safe_url(url),
                             offset, mismatches, MAX_CHECKSUM_RETRIES)
                    if mismatches >= MAX_CHECKSUM_RETRIES:
                        raise TusUnavailable(f"PATCH {safe_url(url)}: checksum mismatch {mismatches} times at "
                                             f"offset {offset}", status)
                    continue
                if status == 409:
                    # Our offset is not the server's: ask it, never guess.
                    resyncs += 1
                    if resyncs > MAX_OFFSET_RESYNCS:
                        raise TusUnavailable(f"PATCH {safe_url(url)}: offset conflict persists", status)
                    offset, _ = self.status(url)
                    log.info("offset conflict on %s: the server is at %d", safe_url(url), offset)
                elif status == 204 or status == 200:
                    new = self._header_int(answer, "PATCH", "Upload-Offset", required=True)
                    offset = new if offset < new <= offset + length else self.status(url)[0]
                    mismatches = 0
                else:
                    error = self._fail("PATCH", url, answer)
                    if isinstance(error, UploadGone):
                        record.upload_url, record.offset = None, 0
                        record.save()
                    raise error
                if offset > size:
                    raise TusProtocolError(f"the {self.server} reports offset {offset} for {path.name}, beyond its "
                                           f"{size} bytes. Fix: check that sync.server_url is a tus 1.0 server.")
                if offset > furthest:
                    furthest, stalls = offset, 0
                else:
                    stalls += 1
                    if stalls >= MAX_STALLED_CHUNKS:
                        raise TusProtocolError(
                            f"the {self.server} took {stalls} chunks of {path.name} in a row without moving its "
                            f"Upload-Offset past {furthest} of {size} bytes; the upload stopped and will be tried "
                            f"again later. Fix: check the server's log and free space.", status)
                record.offset = offset
                record.save()
                if on_progress is not None:
                    on_progress(offset, size)
        final, length = self.status(url)
        if final != size or (length is not None and length != size):
            raise TusUnavailable(f"upload {safe_url(url)} ends at {final} of {size} bytes after the last chunk")
        verified = ["offset"]
        if algorithm and resumed_from < size:
            verified.append("checksum")
        if self.verify_upload:
            remote = self._read_back_finishing(url, size, should_pause)
            if remote is not None:
                if remote != sha256:
                    log.error("server copy of %s differs (sha256 %s, file %s); uploading it again",
                              path.name, remote, sha256)
                    try:
                        self.terminate(url)
                    except TusError as exc:
                        log.info("could not terminate the bad upload %s: %s", safe_url(url), exc)
                    record.upload_url, record.offset = None, 0
                    record.save()
                    raise VerifyFailed(f"the server's copy of {path.name} has sha256 {remote}, "
                                       f"the file has {sha256}")
                verified.append("readback")
        seconds = time.monotonic() - started
        log.info("uploaded %s: %d bytes (%d sent this time, resumed from %d) in %.1f s, verified by %s",
                 path.name, size, sent, resumed_from, seconds, "+".join(verified))
        return UploadResult(url=url, size=size, sha256=sha256, resumed_from=resumed_from, bytes_sent=sent,
                            seconds=seconds, verified_by=tuple(verified))


def _reason(exc: Exception) -> str:
    """A short cause for a requests exception (the innermost message, without the request's headers)."""
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "..."
