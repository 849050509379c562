"""A bad kiosk.toml shows its error full screen for staff instead of exiting (issue 11, item 6)."""

from __future__ import annotations

import pytest

from kiosk import config
from ui.screens.config_error import ConfigErrorScreen


@pytest.fixture
def bad_config(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_bytes(b"[camera]\nfps = " + b"9" * 5000 + b"\n")
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    return path, str(caught.value)


def test_the_screen_shows_file_line_and_fix_and_cannot_be_closed(qtbot, bad_config):
    path, message = bad_config
    screen = ConfigErrorScreen(message, str(path), screen_size=(1280, 800))
    qtbot.addWidget(screen)
    screen.show_full()
    qtbot.waitExposed(screen)
    assert screen.isFullScreen()
    assert screen.message.text() == message and f"{path}, line 2" in message and "Fix:" in message
    assert f"kiosk config check {path}" in screen.howto.text()
    assert screen.candidate.isVisible() and screen.title.text() == "This kiosk is not set up correctly."
    screen.close()                                   # Alt+F4, a window manager's close: refused in kiosk mode
    assert screen.isVisible()
    screen.quit()                                    # SIGTERM
    assert not screen.isVisible()
