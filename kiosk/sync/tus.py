"""The one module that talks to the sync server: a tus 1.0 client on `requests`.

Core protocol plus the creation extension; checksum (``Upload-Checksum`` on every PATCH) and termination when the
server's OPTIONS answer offers them; an optional read-back of the finished upload (GET, which tusd and @tus/server
serve) compared with the file's sha256. The file is streamed from disk in blocks, so memory stays O(block) whatever the
chunk size. Where an upload stands (its URL and the confirmed offset) lives in an :class:`UploadRecord` that the caller
persists (the worker uses the database row), so an upload resumes at the server's ``Upload-Offset`` after a dropped
connection, a server restart or a reboot: never from zero, never as a second upload.

Errors come out as :class:`TusError` subclasses whose ``retryable`` says whether backing off and trying again can
help. The bearer token is sent only over HTTPS or to a loopback address and never appears in a log line or an error.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Mapping, Protocol
from urllib.parse import urljoin, urlsplit

import requests

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
BLOCK_SIZE = 64 * 1024          # reads for hashing and throttled sends
SEND_BLOCK = 1024 * 1024        # unthrottled sends: fewer, larger writes (measured in bench/sync_bench.py)
# tus checksum algorithm names, best first, that hashlib provides.
_CHECKSUM_PREFERENCE = ("sha256", "sha512", "sha1", "md5")
# Statuses that retrying the same request cannot fix: the item stops with a clear status.
BLOCKING_STATUSES = {400, 401, 403, 405, 412, 413, 415}
CHECKSUM_MISMATCH = 460
MAX_CHECKSUM_RETRIES = 3
MAX_OFFSET_RESYNCS = 5


class TusConfigError(ValueError):
    """The client cannot be set up as configured (e.g. a token over plain HTTP); the message names the fix."""


class TusError(Exception):
    """A failed exchange with the server. `retryable`: whether backing off and trying again can help."""

    retryable = True

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TusUnavailable(TusError):
    """Network error, timeout or server error (5xx, 423, 429...): back off and retry; the upload resumes."""


class TusRejected(TusError):
    """The server refuses for a reason that retrying cannot fix (401, 403, 413...)."""

    retryable = False


class UploadGone(TusError):
    """The server no longer has the upload (404/410); the record was cleared and the next attempt starts afresh."""


class VerifyFailed(TusError):
    """The finished upload does not match the file (read-back hash differs); the record was cleared to re-upload."""


class Paused(TusError):
    """Stopped between chunks because the caller asked (a take started); the record holds where to resume."""


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


class Throttle:
    """A bandwidth cap shared by every request that consumes from it (bytes per second; 0 = no cap)."""

    BURST_S = 0.25

    def __init__(self, bytes_per_second: float = 0) -> None:
        self.rate = float(bytes_per_second)
        self._lock = threading.Lock()
        self._free_at = time.monotonic()

    def consume(self, n: int) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            self._free_at = max(self._free_at, now - self.BURST_S) + n / self.rate
            delay = self._free_at - now
        if delay > 0:
            time.sleep(delay)


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def encode_metadata(metadata: Mapping[str, object]) -> str:
    """Upload-Metadata: comma-separated `key base64(value)` pairs; None values are left out."""
    parts = []
    for key, value in metadata.items():
        if not key or any(c in key for c in " ,") or not key.isascii():
            raise ValueError(f"metadata key {key!r} must be ASCII without spaces or commas")
        if value is None:
            continue
        parts.append(f"{key} {base64.b64encode(str(value).encode('utf-8')).decode('ascii')}")
    return ",".join(parts)


def file_sha256(path: Path, should_pause: Callable[[], bool] | None = None) -> str:
    """The file's sha256, read in 1 MiB blocks; raises Paused when `should_pause` turns true midway."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
            if should_pause is not None and should_pause():
                raise Paused(f"paused while hashing {Path(path).name}")
    return digest.hexdigest()


class _PauseRequested(Exception):
    pass


class _ChunkBody:
    """One PATCH body: `length` bytes of an open file from `start`, yielded block by block through the throttle.

    Iterable with a length (not file-like), so requests sends a Content-Length and urllib3 writes each block as it
    comes instead of re-reading 16 KiB pieces: a few large writes per chunk, memory O(SEND_BLOCK).
    """

    def __init__(self, f: BinaryIO, start: int, length: int, throttle: Throttle | None,
                 should_pause: Callable[[], bool] | None = None) -> None:
        self._f, self._start, self._length, self._throttle = f, start, length, throttle
        self._should_pause = should_pause
        self.sent = 0
        self.paused = False

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        self._f.seek(self._start + self.sent)
        block_size = SEND_BLOCK if self._throttle is None or self._throttle.rate <= 0 else BLOCK_SIZE
        while self.sent < self._length:
            if self._should_pause is not None and self._should_pause():
                # Abandon this PATCH mid-body (the server keeps what arrived, or with checksums drops it):
                # a take starting must not wait for a whole chunk at a capped rate.
                self.paused = True
                raise _PauseRequested()
            data = self._f.read(min(block_size, self._length - self.sent))
            if not data:
                raise OSError(f"file ended {self._length - self.sent} bytes early (it changed while uploading)")
            if self._throttle is not None:
                self._throttle.consume(len(data))
            self.sent += len(data)
            yield data


class TusClient:
    """A tus 1.0 client for one server endpoint (the creation URL). Use one per thread."""

    def __init__(self, endpoint: str, *, token: str = "", ca_bundle: str = "", chunk_size: int = DEFAULT_CHUNK_SIZE,
                 throttle: Throttle | None = None, verify: bool = True,
                 timeout: tuple[float, float] = (10.0, 60.0)) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
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
        self.chunk_size = int(chunk_size)
        self.throttle = throttle
        self.verify_upload = verify
        self.timeout = timeout
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
        headers = dict(kwargs.pop("headers", None) or {})
        # The token goes only to the configured server's origin (a Location elsewhere never receives it).
        if self._token and _same_origin(url, self.endpoint):
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            return self._session.request(method, url, headers=headers, timeout=self.timeout, verify=self._verify,
                                         allow_redirects=False, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise TusUnavailable(f"{method} {_safe(url)}: TLS verification failed ({_reason(exc)}). "
                                 f"Fix: set sync.ca_bundle to the server's CA certificate.") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            # Retried with backoff; the fix is for whoever reads the admin console or `kiosk sync`.
            raise TusUnavailable(f"{method} {_safe(url)}: {_reason(exc)}. Uploads wait and retry by themselves. "
                                 f"Fix: check the kiosk's network and that sync.server_url is right and the "
                                 f"server is running.") from None
        except requests.RequestException as exc:
            raise TusUnavailable(f"{method} {_safe(url)}: {_reason(exc)}") from None

    def _fail(self, method: str, url: str, response: requests.Response) -> TusError:
        status = response.status_code
        text = f"{method} {_safe(url)} -> {status} {response.reason or ''}".strip()
        body = (response.text or "").strip().splitlines()
        if body:
            text += f": {body[0][:200]}"
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

    def capabilities(self, refresh: bool = False) -> ServerCapabilities:
        """Ask the server (OPTIONS) which versions and extensions it supports; cached per client."""
        if self._capabilities is not None and not refresh:
            return self._capabilities
        response = self._request("OPTIONS", self.endpoint)
        if response.status_code not in (200, 204):
            raise self._fail("OPTIONS", self.endpoint, response)
        h = response.headers
        versions = tuple(_split(h.get("Tus-Version", "")))
        if versions and TUS_VERSION not in versions:
            raise TusRejected(f"server at {_safe(self.endpoint)} speaks tus {', '.join(versions)}, not {TUS_VERSION}. "
                              f"Fix: point sync.server_url at a tus 1.0 endpoint.")
        max_size = h.get("Tus-Max-Size")
        self._capabilities = ServerCapabilities(
            versions=versions,
            extensions=frozenset(_split(h.get("Tus-Extension", ""))),
            checksum_algorithms=tuple(a.lower() for a in _split(h.get("Tus-Checksum-Algorithm", ""))),
            max_size=int(max_size) if max_size and max_size.isdigit() and int(max_size) > 0 else None,
        )
        log.info("sync server %s: tus %s, extensions %s", _safe(self.endpoint), ",".join(versions) or "?",
                 ",".join(sorted(self._capabilities.extensions)) or "none")
        return self._capabilities

    def create(self, size: int, metadata: Mapping[str, object]) -> str:
        """POST a new upload of `size` bytes; returns its absolute URL."""
        if not self.capabilities().has("creation"):
            raise TusRejected(f"server at {_safe(self.endpoint)} does not offer the tus creation extension. "
                              f"Fix: use a tus server that lets clients create uploads (tusd, @tus/server).")
        headers = {"Upload-Length": str(size), "Content-Length": "0"}
        encoded = encode_metadata(metadata)
        if encoded:
            headers["Upload-Metadata"] = encoded
        response = self._request("POST", self.endpoint, headers=headers)
        if response.status_code != 201 or not response.headers.get("Location"):
            raise self._fail("POST", self.endpoint, response)
        url = urljoin(self.endpoint, response.headers["Location"])
        location, endpoint = urlsplit(url), urlsplit(self.endpoint)
        if endpoint.scheme == "https" and location.scheme == "http" and location.hostname == endpoint.hostname:
            # A server behind a TLS proxy that does not know it (tusd without -behind-proxy): stay on HTTPS.
            url = location._replace(scheme="https", netloc=endpoint.netloc).geturl()
            log.info("the server answered with a plain-http upload URL; using %s", _safe(url))
        log.info("created upload %s (%d bytes)", _safe(url), size)
        return url

    def status(self, url: str) -> tuple[int, int | None]:
        """HEAD: the server's (Upload-Offset, Upload-Length or None)."""
        response = self._request("HEAD", url)
        if response.status_code not in (200, 204):
            raise self._fail("HEAD", url, response)
        offset = response.headers.get("Upload-Offset", "")
        if not offset.isdigit():
            raise TusUnavailable(f"HEAD {_safe(url)}: no valid Upload-Offset in the answer")
        length = response.headers.get("Upload-Length", "")
        return int(offset), int(length) if length.isdigit() else None

    def read_back_sha256(self, url: str, should_pause: Callable[[], bool] | None = None) -> str | None:
        """GET the finished upload and hash it; None when the server does not serve GET. Raises Paused when
        `should_pause` turns true midway (the next attempt reads it back again)."""
        response = self._request("GET", url, stream=True)
        with response:
            if response.status_code in (404, 405, 501):
                return None
            if response.status_code != 200:
                raise self._fail("GET", url, response)
            digest = hashlib.sha256()
            try:
                for block in response.iter_content(BLOCK_SIZE):
                    digest.update(block)
                    if should_pause is not None and should_pause():
                        raise Paused(f"paused while reading back {_safe(url)}")
            except requests.RequestException as exc:
                raise TusUnavailable(f"GET {_safe(url)}: {_reason(exc)}") from None
            return digest.hexdigest()

    def terminate(self, url: str) -> bool:
        """DELETE an upload where the server offers termination; True when it is gone."""
        if not self.capabilities().has("termination"):
            return False
        response = self._request("DELETE", url)
        if response.status_code in (204, 404, 410):
            return True
        raise self._fail("DELETE", url, response)

    def _patch(self, f: BinaryIO, url: str, offset: int, length: int, algorithm: str | None,
               should_pause: Callable[[], bool] | None = None) -> tuple[requests.Response | None, int]:
        """One PATCH; (None, sent) when `should_pause` turned true while sending (the request was abandoned)."""
        headers = {"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        if algorithm:
            digest = hashlib.new(algorithm)
            f.seek(offset)
            left = length
            while left > 0:
                block = f.read(min(BLOCK_SIZE, left))
                if not block:
                    raise OSError("file ended early (it changed while uploading)")
                digest.update(block)
                left -= len(block)
            headers["Upload-Checksum"] = f"{algorithm} {base64.b64encode(digest.digest()).decode('ascii')}"
        body = _ChunkBody(f, offset, length, self.throttle, should_pause)
        headers["Content-Length"] = str(length)
        try:
            response = self._request("PATCH", url, data=body, headers=headers)
        except (_PauseRequested, TusUnavailable):
            if body.paused:
                return None, body.sent
            raise
        return response, body.sent

    # --- a whole upload ----------------------------------------------------------------------------------------------
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
        url = record.upload_url
        offset = 0
        if url:
            try:
                offset, length = self.status(url)
            except UploadGone:
                log.warning("the server no longer has upload %s of %s; starting it again", _safe(url), path.name)
                url = None
            else:
                if length is not None and length != size:
                    raise TusRejected(f"upload {_safe(url)} is {length} bytes on the server but {path.name} is "
                                      f"{size} bytes; the local file changed. Fix: restore the original file.")
                if offset > size:
                    raise TusRejected(f"upload {_safe(url)} reports offset {offset} beyond the file's {size} bytes")
        if not url:
            url = self.create(size, {**(metadata or {}), "sha256": sha256} if metadata is not None
                              else {"filename": path.name, "sha256": sha256})
            offset = 0
        record.upload_url, record.offset = url, offset
        record.save()
        resumed_from = offset
        algorithm = caps.checksum_algorithm
        sent = 0
        mismatches = resyncs = 0
        with open(path, "rb") as f:
            while offset < size:
                if should_pause is not None and should_pause():
                    raise Paused(f"paused at {offset} of {size} bytes")
                length = min(self.chunk_size, size - offset)
                response, n = self._patch(f, url, offset, length, algorithm, should_pause)
                sent += n
                if response is None:
                    try:    # where the server stands now, for the progress shown while paused
                        record.offset, _ = self.status(url)
                        record.save()
                    except TusError as exc:
                        log.info("could not read the offset of %s after pausing: %s", _safe(url), exc)
                    raise Paused(f"paused at {record.offset} of {size} bytes")
                status = response.status_code
                if status == CHECKSUM_MISMATCH:
                    mismatches += 1
                    log.info("server reports a checksum mismatch for %s at %d (%d of %d tries)", _safe(url),
                             offset, mismatches, MAX_CHECKSUM_RETRIES)
                    if mismatches >= MAX_CHECKSUM_RETRIES:
                        raise TusUnavailable(f"PATCH {_safe(url)}: checksum mismatch {mismatches} times at "
                                             f"offset {offset}", status)
                    continue
                if status == 409:
                    # Our offset is not the server's: ask it, never guess.
                    resyncs += 1
                    if resyncs > MAX_OFFSET_RESYNCS:
                        raise TusUnavailable(f"PATCH {_safe(url)}: offset conflict persists", status)
                    offset, _ = self.status(url)
                    log.info("offset conflict on %s: the server is at %d", _safe(url), offset)
                elif status == 204 or status == 200:
                    new = response.headers.get("Upload-Offset", "")
                    if not new.isdigit() or not offset < int(new) <= offset + length:
                        offset, _ = self.status(url)
                    else:
                        offset = int(new)
                    mismatches = 0
                else:
                    error = self._fail("PATCH", url, response)
                    if isinstance(error, UploadGone):
                        record.upload_url, record.offset = None, 0
                        record.save()
                    raise error
                record.offset = offset
                record.save()
                if on_progress is not None:
                    on_progress(offset, size)
        final, length = self.status(url)
        if final != size or (length is not None and length != size):
            raise TusUnavailable(f"upload {_safe(url)} ends at {final} of {size} bytes after the last chunk")
        verified = ["offset"]
        if algorithm and resumed_from < size:
            verified.append("checksum")
        if self.verify_upload:
            remote = self.read_back_sha256(url, should_pause)
            if remote is not None:
                if remote != sha256:
                    log.error("server copy of %s differs (sha256 %s, file %s); uploading it again",
                              path.name, remote, sha256)
                    try:
                        self.terminate(url)
                    except TusError as exc:
                        log.info("could not terminate the bad upload %s: %s", _safe(url), exc)
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


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def _safe(url: str) -> str:
    """A URL without any user:password part, for messages."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        parts = parts._replace(netloc=netloc)
    return parts.geturl()


def _reason(exc: Exception) -> str:
    """A short cause for a requests exception (the innermost message, without the request's headers)."""
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "..."
