"""Where an export can go: mounted USB sticks and cards, the space on a file system, and what FAT cannot hold."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence


def free_bytes(path: Path) -> tuple[int, int]:
    """(bytes free for us, block size) on the file system holding `path`."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize, st.f_frsize or 4096


@dataclass(frozen=True)
class Target:
    mount_point: Path
    device: str
    label: str
    free_bytes: int
    total_bytes: int
    removable: bool


def parse_mounts(text: str) -> list[tuple[str, str, str]]:
    """(device, mount point, fs type) from /proc/mounts text, octal escapes decoded."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            unescape = lambda s: re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)  # noqa: E731
            rows.append((unescape(parts[0]), unescape(parts[1]), parts[2]))
    return rows


REMOVABLE_ROOTS = ("/media/", "/run/media/", "/mnt/")


def removable_targets(mounts_file: Path = Path("/proc/mounts"),
                      roots: Sequence[str] = REMOVABLE_ROOTS) -> list[Target]:
    """Mounted USB sticks and cards: mount points under /media, /run/media or /mnt, or on a removable block device."""
    try:
        mounts = parse_mounts(mounts_file.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []
    targets = []
    for device, mount_point, fstype in mounts:
        if not device.startswith("/dev/"):
            continue
        base = re.sub(r"(p?\d+)$", "", Path(device).name)
        removable = Path(f"/sys/block/{base}/removable").is_file() and \
            Path(f"/sys/block/{base}/removable").read_text().strip() == "1"
        if not (removable or mount_point.startswith(tuple(roots))):
            continue
        try:
            usage = shutil.disk_usage(mount_point)
        except OSError:
            continue
        targets.append(Target(Path(mount_point), device, Path(mount_point).name, usage.free, usage.total, removable))
    return targets


FAT_TYPES = ("vfat", "msdos", "fat")
FAT_MAX_FILE = 4 * 1024 ** 3 - 1


def filesystem_type(path: Path, mounts_file: Path = Path("/proc/mounts")) -> str:
    """The type of the file system holding `path` (longest matching mount point), "" if unknown."""
    try:
        mounts = parse_mounts(mounts_file.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return ""
    real = os.path.realpath(path)
    best, fstype = -1, ""
    for _device, mount_point, kind in mounts:
        if (real == mount_point or real.startswith(mount_point.rstrip("/") + "/")) and len(mount_point) > best:
            best, fstype = len(mount_point), kind
    return fstype


def fat_limit_problem(fstype: str, sizes: Iterable[int]) -> str | None:
    """FAT32 cannot hold a file of 4 GiB or more: say so before copying instead of failing half-way."""
    if fstype not in FAT_TYPES:
        return None
    biggest = max(sizes, default=0)
    if biggest <= FAT_MAX_FILE:
        return None
    return (f"The stick is formatted FAT32, which cannot hold files of 4 GB or more, and a recording is "
            f"{biggest / 1e9:.1f} GB. Fix: format the stick as exFAT (or NTFS) and export again.")
