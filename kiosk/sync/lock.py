"""One uploader per data dir across processes: the app's worker and a `kiosk sync` never upload the same file twice."""

from __future__ import annotations

import fcntl
import os

from pathlib import Path


class SyncBusy(RuntimeError):
    """Another process (the app or a `kiosk sync`) is already uploading from this data dir."""


class DataDirLock:
    """One uploader per data dir across processes (flock: released by the kernel when the holder dies), so two
    processes never create the same upload twice."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
