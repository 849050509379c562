"""A tiny real file system (tmpfs of a given size) for disk-full tests. Needs root (the tests run as root in CI:
`make test` installs packages as root); without it the fixture fails with the fix instead of skipping."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def tiny_fs(tmp_path):
    """tiny_fs(size_kb, at=None) -> Path of a fresh tmpfs of that many KiB (mounted on `at` when given, which is
    created); unmounted after the test."""
    mounted: list[Path] = []

    def make(size_kb: int, at: Path | None = None) -> Path:
        if os.geteuid() != 0:
            pytest.fail("the disk-full tests mount a small tmpfs and need root. Fix: run the suite as root "
                        "(as `make test` in CI does).", pytrace=False)
        point = Path(at) if at is not None else tmp_path / f"tinyfs{len(mounted)}"
        point.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(point)],
                       check=True, capture_output=True, timeout=30)
        mounted.append(point)
        return point

    yield make
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True, timeout=30)
