"""The devices page with the real Recorder on the demo camera and microphone: live preview, level meter, a test
recording that decodes and is played back, and the chosen devices saved to the config file."""

from __future__ import annotations


import pytest
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaPlayer

from kiosk import config as configmod
from kiosk.capture.demo import DemoCamera, DemoMicrophone
from kiosk.capture.health import DeviceWatch
from kiosk.cli import Context
from kiosk.events import EventBus
from kiosk.paths import DataDir
from kiosk.recorder import Recorder, RecorderSettings
from tests.helpers.media import decode_counts
from ui.admin.devices_page import DevicesPage, METER_FLOOR_DBFS
from ui.services import AppServices

pytestmark = pytest.mark.qt_log_ignore(r"does not support propagateSizeHints", r"pipewire", r"No RHI backend")


@pytest.fixture
def recorder_services(tmp_path):
    config = configmod.Config(source=tmp_path / "kiosk.toml")
    for name, value in (("camera.size", "320x180"), ("camera.fps", 10), ("recording.profile", "webm-vp8-opus"),
                        ("recording.video_bitrate_kbps", 200), ("storage.min_free_mb", 50)):
        config.set(name, value)
    settings = RecorderSettings.from_config(config)
    recorder = Recorder(DemoCamera(settings.size, settings.fps), DemoMicrophone(), settings, EventBus())
    recorder.open()
    devices = DeviceWatch(config, recorder, recorder.bus, demo=True)
    services = AppServices(ctx=Context(data=DataDir(tmp_path / "data").ensure(), config=config), bus=recorder.bus,
                               store=None, db=None, recorder=recorder, devices=devices)
    yield services
    recorder.close()


def test_preview_meter_test_recording_and_save(qtbot, recorder_services):
    page = DevicesPage(recorder_services)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    page.refresh()
    assert "Find devices" in page.status.text()                        # no probing until asked
    qtbot.mouseClick(page.find_button, Qt.MouseButton.LeftButton)
    assert page.status.text().startswith("Found ")
    assert page.camera.findData("demo") >= 0 and page.mic.findData("default") >= 0
    assert page.size.currentData() == "320x180" and page.profile.currentData() == "webm-vp8-opus"
    qtbot.waitUntil(lambda: page.preview.pixmap() is not None and not page.preview.pixmap().isNull(), timeout=5000)
    qtbot.waitUntil(lambda: page.meter.value() > METER_FLOOR_DBFS, timeout=5000)   # the demo tone is heard
    # The same device state as the welcome screen and `kiosk doctor` (kiosk.capture.health).
    assert page.booth.text().splitlines()[:2] == ["The booth is ready.", "Camera (demo camera): demo. A test pattern "
                                                  "(--demo or camera.spec = 'demo'), not a candidate's picture"]

    page.start_test()
    assert not page.test_button.isEnabled()
    qtbot.waitUntil(lambda: page.last_test is not None, timeout=30000)
    result = page.last_test
    assert not isinstance(result, Exception) and result.ok, page.status.text()
    frames, samples = decode_counts(result.path)
    assert frames >= 20 and samples >= 2.5 * 48000                     # ~3 s at 10 fps, 48 kHz
    player = page.playback.player
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=10000)
    qtbot.waitUntil(lambda: player.position() > 0, timeout=10000)
    page.leave()

    page.camera.setCurrentIndex(page.camera.findData("demo"))
    page.mic.setCurrentIndex(page.mic.findData("demo"))
    page.size.setCurrentIndex(page.size.findData("640x360"))
    page.save()
    saved = configmod.load(recorder_services.ctx.config.source)
    assert (saved["camera.spec"], saved["mic.spec"], str(saved["camera.size"])) == ("demo", "demo", "640x360")
