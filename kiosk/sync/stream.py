"""The file side of an upload: hashing a file, the bandwidth cap and the PATCH body streamed from disk in blocks, so
memory stays O(block) whatever the chunk size. kiosk.sync.tus sends what this module reads."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from kiosk.sync.errors import Paused

BLOCK_SIZE = 64 * 1024          # reads for hashing and throttled sends
SEND_BLOCK = 1024 * 1024        # unthrottled sends: fewer, larger writes (measured in bench/sync_bench.py)


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


def file_sha256(path: Path, should_pause: Callable[[], bool] | None = None) -> str:
    """The file's sha256, read in 1 MiB blocks; raises Paused when `should_pause` turns true midway."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
            if should_pause is not None and should_pause():
                raise Paused(f"paused while hashing {Path(path).name}")
    return digest.hexdigest()


def range_digest(f: BinaryIO, start: int, length: int, algorithm: str) -> bytes:
    """The `algorithm` digest of `length` bytes of an open file from `start` (for Upload-Checksum)."""
    digest = hashlib.new(algorithm)
    f.seek(start)
    left = length
    while left > 0:
        block = f.read(min(BLOCK_SIZE, left))
        if not block:
            raise OSError("file ended early (it changed while uploading)")
        digest.update(block)
        left -= len(block)
    return digest.digest()


class PauseRequested(Exception):
    """Raised inside a PATCH body when the caller asked to pause; the client turns it into Paused."""


class ChunkBody:
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
                raise PauseRequested()
            data = self._f.read(min(block_size, self._length - self.sent))
            if not data:
                raise OSError(f"file ended {self._length - self.sent} bytes early (it changed while uploading)")
            if self._throttle is not None:
                self._throttle.consume(len(data))
            self.sent += len(data)
            yield data
