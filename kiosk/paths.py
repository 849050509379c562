"""Where the kiosk keeps its files. The data dir: --data-dir, else KIOSK_DATA_DIR, else the platform's user data dir.

The data dir is private to the kiosk's user: folders 0700, files 0600 (an older kiosk's 0755/0644 are tightened at
start).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from kiosk.privacy.files import make_private_dir, tighten_tree

APP_NAME = "kiosk-interview-recorder"


def resolve_data_dir(cli_value: str | os.PathLike | None = None) -> Path:
    if cli_value:
        return Path(cli_value).expanduser().resolve()
    env = os.environ.get("KIOSK_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_config_file(cli_value: str | os.PathLike | None = None) -> Path:
    if cli_value:
        return Path(cli_value).expanduser().resolve()
    env = os.environ.get("KIOSK_CONFIG")
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "kiosk.toml"


@dataclass(frozen=True)
class DataDir:
    """The layout under the data dir, in one place."""

    root: Path

    @property
    def recordings(self) -> Path:
        # Same place as the seed: media/interview_recordings/
        return self.root / "media" / "interview_recordings"

    @property
    def database(self) -> Path:
        return self.root / "kiosk.sqlite3"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def exports_tmp(self) -> Path:
        return self.root / "tmp"

    def sweep_tmp(self) -> int:
        """Empty the tmp folder at start: it holds throwaway recordings only (device-check clips, device tests), and
        one left there when the app stopped during it (a candidate's face and voice) must not stay. Returns how many
        entries were removed."""
        if not self.exports_tmp.is_dir():
            return 0
        removed = 0
        for entry in self.exports_tmp.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        return removed

    @property
    def sync(self) -> Path:
        """Where the session JSON files that sync uploads are written."""
        return self.root / "sync"

    def sync_document(self, interview_uuid: str) -> Path:
        """The session JSON sync uploads for one interview (sealed beside it as .age when encryption is on)."""
        return self.sync / f"{interview_uuid}.session.json"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def signing_key(self) -> Path:
        """The kiosk's own Ed25519 key (OpenSSH format) that signs each take's manifest."""
        return self.keys / "kiosk_ed25519"

    def ensure(self) -> "DataDir":
        for path in (self.root, self.recordings, self.logs):
            make_private_dir(path)
        tighten_tree(self.root)
        return self
