"""Admin playback of a sealed take: it asks for the centre's identity, plays from a copy in RAM, removes it after.

Real parts: a take from the real recorder, sealed with pyrage to a key `age-keygen` made, QMediaPlayer (FFmpeg)."""

from __future__ import annotations

import os

import pyrage
import pytest

from kiosk.export.targets import filesystem_type
from kiosk.privacy import crypto
from tests.helpers.db import record_real_take
from tests.kiosk.privacy.helpers import make_centre_key
from ui.admin.player import PlaybackWidget

pytestmark = [pytest.mark.qt_log_ignore(r"does not support propagateSizeHints", r"pipewire", r"No RHI backend")]


@pytest.fixture
def sealed(tmp_path):
    centre = make_centre_key(tmp_path)
    record_real_take(tmp_path / "take.webm", seconds=1.5)
    return crypto.seal(tmp_path / "take.webm", crypto.parse_recipients([centre.recipient])).path, centre


def test_a_sealed_take_asks_for_the_key_and_plays_from_memory_only(qtbot, sealed):
    path, centre = sealed
    asked = []

    def provider(parent):
        asked.append(parent)
        return crypto.load_identities(centre.identity_file)
    widget = PlaybackWidget(identity_provider=provider)
    qtbot.addWidget(widget)
    widget.show()
    widget.load(path)
    assert widget.unlock_button.isVisible() and "encrypted to the centre's key" in widget.sealed_label.text()
    assert asked == [] and widget.playing_from_memory is None          # nothing decrypted before the admin asks
    widget.unlock_button.click()
    qtbot.waitUntil(lambda: widget.player.duration() > 1000, timeout=30000)
    copy = widget.playing_from_memory
    assert asked == [widget] and copy is not None and copy.name == "take.webm"
    assert filesystem_type(copy) in ("tmpfs", "ramfs") and (copy.stat().st_mode & 0o777) == 0o600
    assert not any(p.suffix == ".webm" for p in path.parent.iterdir())     # never beside the ciphertext
    widget.play()
    qtbot.waitUntil(lambda: widget.player.position() > 200, timeout=30000)
    widget.unload()
    assert not copy.exists() and not copy.parent.exists()


def test_the_wrong_key_says_so_and_asks_again(qtbot, sealed):
    path, _ = sealed
    widget = PlaybackWidget(identity_provider=lambda parent: [pyrage.x25519.Identity.generate()])
    qtbot.addWidget(widget)
    widget.show()
    widget.load(path)
    with qtbot.waitSignal(widget.failed, timeout=30000) as failed:
        widget.unlock_button.click()
    assert "cannot be decrypted with this identity" in failed.args[0]
    qtbot.waitUntil(widget.unlock_button.isVisible, timeout=5000)
    assert widget.playing_from_memory is None
    assert not [p for p in os.listdir(crypto.private_memory_dir()) if p.startswith("kiosk-play-")]
