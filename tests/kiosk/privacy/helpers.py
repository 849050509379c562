"""Shared parts of the privacy tests: a centre key made by the real `age-keygen`, and the real `age` to decrypt."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class CentreKey:
    identity_file: Path
    recipient: str


def make_centre_key(folder: Path) -> CentreKey:
    """An X25519 identity as the centre makes it (`age-keygen -o`); the public key line comes from the tool too."""
    if shutil.which("age-keygen") is None:
        raise pytest.UsageError("age is not installed. Fix: run 'make test' (it installs the test packages).")
    identity = folder / "centre.key"
    done = subprocess.run(["age-keygen", "-o", str(identity)], capture_output=True, text=True, check=True)
    recipient = next(line.split(": ", 1)[1] for line in (done.stderr + done.stdout).splitlines()
                     if line.startswith("Public key: "))
    return CentreKey(identity, recipient.strip())


def age_decrypt(key: CentreKey, sealed: Path, out: Path) -> Path:
    subprocess.run(["age", "--decrypt", "-i", str(key.identity_file), "-o", str(out), str(sealed)], check=True,
                   capture_output=True, timeout=120)
    return out


def modes_under(root: Path) -> dict[str, int]:
    """Permission bits of every file and folder under `root` (and root), by path relative to it."""
    found = {".": stat.S_IMODE(os.stat(root).st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


def assert_private(root: Path) -> None:
    """Folders 0700, files 0600: nothing another local user can open."""
    wrong = {name: oct(mode) for name, mode in modes_under(root).items()
             if mode != (0o700 if (root / name).is_dir() else 0o600)}
    assert not wrong, wrong


def bytes_found(root: Path, needles: list[bytes]) -> dict[str, list[bytes]]:
    """Which files under `root` hold any of `needles`, compared as raw bytes, case-insensitively (SQLite keeps UTF-8)."""
    hits: dict[str, list[bytes]] = {}
    for folder, _, files in os.walk(root):
        for name in files:
            data = (Path(folder) / name).read_bytes()
            found = [n for n in needles if n in data or n.lower() in data.lower()]
            if found:
                hits[str(Path(folder, name).relative_to(root))] = found
    return hits
