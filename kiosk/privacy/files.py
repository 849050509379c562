"""Private files: folders 0700, files 0600, written atomically (temporary name, fsync, rename, fsync of the folder)."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import BinaryIO, Iterator

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
# The bits that let another local user (group or other) read, write or enter.
SHARED_BITS = stat.S_IRWXG | stat.S_IRWXO


def private_umask() -> None:
    """New files 0600 and folders 0700 from here on, in this process and its children."""
    os.umask(0o077)


def make_private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700; an existing folder is tightened to 0700."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


def tighten_tree(root: Path) -> int:
    """Folders 0700 and files 0600 under `root` (a data dir an older kiosk wrote at 0755/0644). Returns how many
    entries were changed. Symlinks are left alone (their target may not be ours)."""
    changed = 0
    for folder, dirs, files in os.walk(root):
        for name, wanted in [(folder, PRIVATE_DIR)] + [(os.path.join(folder, f), PRIVATE_FILE) for f in files]:
            try:
                info = os.lstat(name)
            except FileNotFoundError:      # removed meanwhile (a take's temporary file)
                continue
            if stat.S_ISLNK(info.st_mode) or not info.st_mode & SHARED_BITS:
                continue
            os.chmod(name, wanted if stat.S_ISDIR(info.st_mode) else stat.S_IMODE(info.st_mode) & wanted)
            changed += 1
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
    return changed


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def create_private(path: Path, mode: int = PRIVATE_FILE) -> Iterator[BinaryIO]:
    """Open a new file (0600 unless told) for writing; fails when it exists (nothing is overwritten by accident)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.fchmod(fd, mode)                  # whatever the umask
    with os.fdopen(fd, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def write_private(path: Path, data: bytes, mode: int = PRIVATE_FILE) -> Path:
    """Write `data` to `path` (0600 unless told), atomically: a reader sees the old file or the whole new one."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)           # our own leftover from a crash of this pid's predecessor
    with create_private(temp, mode) as handle:
        handle.write(data)
    os.replace(temp, path)
    fsync_dir(path.parent)
    return path
