"""Widgets and app plumbing: indicator, level meter, keypad, speech, device-check clip, translations, the display
check before Qt starts, screen blanking."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt

from kiosk.flow import Event, State
from tests.helpers.ui import click, wait_state

ROOT = Path(__file__).resolve().parents[2]


def test_recording_indicator_blinks_and_shows_times(qtbot):
    from ui.widgets.indicator import RecordingIndicator, clock_text
    indicator = RecordingIndicator(unit=20)
    qtbot.addWidget(indicator)
    indicator.resize(600, indicator.height())
    indicator.show()
    indicator.set_state("recording", 65.2, 54.8)
    assert indicator.label() == "REC  1:05   0:55 left"
    states = set()
    qtbot.waitUntil(lambda: states.add(indicator.dot_on) or len(states) == 2, timeout=3000)
    indicator.set_state("practice", 3, 17)
    assert "PRACTICE" in indicator.label() and indicator.dot_on and not indicator._blink.isActive()
    indicator.set_state("idle", 0, None)
    assert indicator.label() == ""
    assert clock_text(0) == "0:00" and clock_text(600) == "10:00"


def test_level_meter_scale():
    from ui.widgets.level_meter import fraction
    assert fraction(-100) == 0 and fraction(-60) == 0 and fraction(0) == 1 and fraction(3) == 1
    assert abs(fraction(-30) - 0.5) < 1e-9 and fraction(float("nan")) == 0


def test_keypad_by_touch_and_keyboard(qtbot):
    from ui.widgets.keypad import Keypad
    keypad = Keypad(max_length=4)
    qtbot.addWidget(keypad)
    keypad.show()
    assert not keypad.buttons["ok"].isEnabled()
    for key in "12345":
        qtbot.mouseClick(keypad.buttons[key], Qt.MouseButton.LeftButton)
    assert keypad.code == "1234" and keypad.display.text() == "1 2 3 4"
    qtbot.keyClick(keypad, Qt.Key.Key_Backspace)
    qtbot.keyClicks(keypad, "9")
    with qtbot.waitSignal(keypad.submitted) as signal:
        qtbot.keyClick(keypad, Qt.Key.Key_Return)
    assert signal.args == ["1239"]
    keypad.clear()
    assert keypad.code == "" and not keypad.buttons["ok"].isEnabled()


def test_questions_read_aloud(qtbot, make_window, expect_log):
    expect_log("kiosk.flow", r"^failsafe in state answer .*: test")
    window = make_window(ui__read_questions_aloud=True)
    # here: espeak-ng (Qt's speechd plug-in is listed but libspeechd is not installed)
    assert window.speaker is not None and window.speaker.backend in ("qt:speechd", "espeak-ng")
    click(qtbot, window, "start")
    click(qtbot, window, "walk_in")
    click(qtbot, window, "accept")
    click(qtbot, window, "devices_ok")
    wait_state(qtbot, window, State.THINK)
    assert window.speaker.spoken == ["Practice: say your name."]
    click(qtbot, window, "skip_practice")
    assert window.speaker.spoken[-1] == "First question?"
    click(qtbot, window, "start_now")
    window.runner.send(Event.ERROR, reason="test")                # any end forgets what was said
    wait_state(qtbot, window, State.FAILSAFE)
    window.flow.deadline = 0
    wait_state(qtbot, window, State.ATTRACT)
    assert window.speaker.spoken == []


@pytest.mark.qt_log_ignore("pipewire")      # QtMultimedia looks for PipeWire first; PulseAudio is used here
def test_device_check_clip_is_recorded_played_back_and_not_kept(qtbot, make_window):
    window = make_window()
    click(qtbot, window, "start")
    click(qtbot, window, "walk_in")
    click(qtbot, window, "accept")
    wait_state(qtbot, window, State.DEVICE_CHECK)
    screen = window.screens[State.DEVICE_CHECK]
    click(qtbot, window, "test_clip")
    assert screen.clip_busy and not screen.ok.isEnabled()
    qtbot.waitUntil(lambda: window.recorder.state == "recording", timeout=5000)
    clip = window.device_check_clip.path
    assert clip.parent == window.services.ctx.data.exports_tmp
    qtbot.waitUntil(lambda: "Playing" in screen.clip_status.text(), timeout=15000)
    played = window.device_check_clip.played_path
    assert played.exists() and played.stat().st_size > 1000
    qtbot.waitUntil(lambda: not screen.clip_busy, timeout=15000)
    assert "Did you see and hear yourself" in screen.clip_status.text()
    assert not list(played.parent.glob(played.name + "*")) and not played.exists()
    assert not list(window.services.ctx.data.recordings.glob("*"))      # nothing in the interview recordings
    click(qtbot, window, "devices_ok")
    wait_state(qtbot, window, State.THINK)


def test_device_check_clip_that_cannot_record_shows_the_help(qtbot, make_window, expect_log):
    """No encoder opens for the clip (start_take returns at once, the failure comes afterwards): the candidate gets
    the "It's not right" help and the buttons back, not a screen that waits forever; nothing is kept."""
    expect_log("kiosk.media.writer", r"could not open")
    expect_log("kiosk.recorder", r"could not start")
    window = make_window()
    window.recorder.settings.disabled_encoders = ("libvpx-vp9", "libvpx", "libx264")
    click(qtbot, window, "start")
    click(qtbot, window, "walk_in")
    click(qtbot, window, "accept")
    wait_state(qtbot, window, State.DEVICE_CHECK)
    screen = window.screens[State.DEVICE_CHECK]
    assert not screen.help.isVisible()
    click(qtbot, window, "test_clip")
    assert screen.clip_busy and not screen.ok.isEnabled()
    qtbot.waitUntil(lambda: not screen.clip_busy and screen.help.isVisible(), timeout=15000)
    assert window.flow.state is State.DEVICE_CHECK and screen.ok.isEnabled() and screen.test_clip.isEnabled()
    assert window.recorder.state == "previewing"
    assert not list(window.device_check_clip.path.parent.glob(window.device_check_clip.path.stem + "*"))
    window.recorder.settings.disabled_encoders = ()
    click(qtbot, window, "devices_ok")
    wait_state(qtbot, window, State.THINK)


def test_translation_catalogue_is_complete_and_used(qtbot, tmp_path, make_window):
    """Every user-visible text of the kiosk goes through translate(): lupdate finds them all, and the German
    catalogue has each one."""
    fresh = tmp_path / "fresh.ts"
    sources = [str(p) for p in [ROOT / "ui/app.py", ROOT / "ui/main_window.py", *sorted((ROOT / "ui/screens").glob("*.py")),
                                *sorted((ROOT / "ui/widgets").glob("*.py"))]]
    subprocess.run([str(Path(sys.executable).parent / "pyside6-lupdate"), *sources, "-ts", str(fresh)],
                   check=True, capture_output=True, timeout=120)
    pattern = re.compile(r"<source>(.*?)</source>", re.S)
    wanted = set(pattern.findall(fresh.read_text()))
    catalogue = (ROOT / "resources/translations/kiosk_de.ts").read_text()
    have = set(pattern.findall(catalogue))
    assert len(wanted) > 40 and wanted <= have
    assert 'type="unfinished"' not in catalogue
    from ui.app import install_translators
    app = QCoreApplication.instance()
    translators = install_translators(app, "de")
    try:
        window = make_window()
        assert window.screens[State.ATTRACT].title.text() == "Erzählen Sie Ihre Geschichte"
        assert html.unescape("Zum Starten hier berühren") == window.findChild(type(window.screens[State.ATTRACT]
                                                                                   .start), "start").text()
    finally:
        for translator in translators:
            app.removeTranslator(translator)


def test_no_display_gives_a_clear_error_before_qt(tmp_path):
    from ui.app import display_problem
    assert display_problem({}, "linux") and "Fix:" in display_problem({}, "linux")
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "launcher", "--data-dir", str(tmp_path / "d")], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no display" in result.stderr and "Fix:" in result.stderr and "xcb" not in result.stderr


def test_blanking_inhibit_is_best_effort(caplog, monkeypatch):
    import logging
    from ui.blanking import inhibit_blanking
    monkeypatch.delenv("DISPLAY", raising=False)
    with caplog.at_level(logging.INFO, logger="ui.blanking"):
        release = inhibit_blanking()
        release()
    assert any("screen blanking off via" in r.getMessage() for r in caplog.records)
    assert all(r.levelno < logging.WARNING for r in caplog.records)
