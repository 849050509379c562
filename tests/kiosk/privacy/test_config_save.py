"""Console Save writes only its own keys into kiosk.toml: comments, layout and mode kept, no environment value."""

from __future__ import annotations

import os
import stat
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt

from kiosk import config as configmod
from kiosk.cli import Context
from kiosk.db.database import close_database, open_database
from kiosk.events import EventBus
from kiosk.paths import DataDir
from kiosk.sessions import SessionStore
from ui.admin.console import AdminConsole

pytestmark = [pytest.mark.qt_log_ignore(r"does not support propagateSizeHints", r"pipewire", r"No RHI backend")]

TOKEN = "tok-FROM-ENV-9f3c"
ORIGINAL = '''# kiosk.toml of booth 3 -- edited by hand, keep these notes
[camera]
spec = "demo"   # the demo camera until the webcam arrives

[mic]
spec = "demo"

[sync]
# the token comes from the environment (systemd EnvironmentFile)
server_url = "https://centre.example.org/files/"

[storage]
retention_days = 30   # agreed with the works council
'''


@pytest.fixture
def console(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_SYNC_TOKEN", TOKEN)
    toml = tmp_path / "kiosk.toml"
    toml.write_text(ORIGINAL)
    toml.chmod(0o640)
    config = configmod.load(toml)
    assert config["sync.token"] == TOKEN
    data = DataDir(tmp_path / "data").ensure()
    db = open_database(data.database)
    services = SimpleNamespace(ctx=Context(data=data, config=config), bus=EventBus(),
                               store=SessionStore(data, config), db=db, recorder=None, devices=None)
    widget = AdminConsole(services)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget, toml
    widget.export.wait()
    widget.sessions.leave()
    close_database()


def test_retention_save_keeps_comments_and_mode_and_never_writes_the_environments_token(qtbot, console):
    widget, toml = console
    widget.show_page(widget.retention)
    page = widget.retention
    assert page.days.value() == 30
    page.days.setValue(90)
    page.requires_export.setChecked(True)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert "Saved to" in page.status.text(), page.status.text()

    text = toml.read_text()
    assert TOKEN not in text and "token" not in text.replace("# the token comes", "")
    assert stat.S_IMODE(os.stat(toml).st_mode) == 0o640
    # Every line of the original is still there, except the one value that changed (its comment kept).
    assert "retention_days = 90   # agreed with the works council" in text
    for line in ORIGINAL.splitlines():
        if not line.startswith("retention_days"):
            assert line in text.splitlines(), line
    assert "retention_requires_export = true" in text
    saved = configmod.load(toml)
    assert saved["storage.retention_days"] == 90 and saved["storage.retention_requires_export"]
    assert saved["sync.server_url"] == "https://centre.example.org/files/"


def test_devices_save_changes_only_the_devices_keys(qtbot, console):
    widget, toml = console
    widget.show_page(widget.devices)
    qtbot.mouseClick(widget.devices.save_button, Qt.MouseButton.LeftButton)
    text = toml.read_text()
    assert TOKEN not in text
    assert stat.S_IMODE(os.stat(toml).st_mode) == 0o640
    assert "# kiosk.toml of booth 3 -- edited by hand, keep these notes" in text
    assert 'spec = "demo"   # the demo camera until the webcam arrives' in text
    assert "retention_days = 30   # agreed with the works council" in text
    assert configmod.load(toml)["camera.spec"] == "demo"
