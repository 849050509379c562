"""The kiosk window with real parts: the real Recorder on the demo camera and microphone (small, cheap), a real
session store in a temporary data dir, Qt offscreen."""

from __future__ import annotations

import pytest

from kiosk.cli import Context
from kiosk.paths import DataDir
from tests.helpers.config import small_config

TEST_TEMPLATE = """
[template]
name = "uitest"
title = "UI test"
consent_version = "t1"
consent_text = "We record your answers. Press I agree to start."

[practice]
text = "Practice: say your name."
think_s = 1
answer_s = 5

[[questions]]
text = "First question?"
think_s = 1
answer_s = 5
retakes = 1

[[questions]]
text = "Second question?"
think_s = 1
answer_s = 5
retakes = 0
"""


@pytest.fixture
def make_services(tmp_path):
    """make_services(**config) -> AppServices with the demo devices, opened; closed at teardown."""
    from kiosk.capture.demo import DemoCamera, DemoMicrophone
    from kiosk.events import EventBus
    from kiosk.recorder import Recorder, RecorderSettings
    from ui.app import flow_sessions
    from kiosk.admin_auth import for_database
    from kiosk.capture.health import DeviceWatch
    from tests.helpers.ui import TEST_PIN
    from ui.services import AppServices

    made = []

    def make(**values):
        config = small_config(**values)
        data = DataDir(tmp_path / f"data{len(made)}").ensure()
        ctx = Context(data=data, config=config)
        template = tmp_path / "uitest.toml"
        template.write_text(TEST_TEMPLATE)
        settings = RecorderSettings.from_config(config)
        bus = EventBus()
        recorder = Recorder(DemoCamera(settings.size, settings.fps), DemoMicrophone(), settings, bus)
        store, db = open_store(ctx, template)
        devices = DeviceWatch(config, recorder, bus, demo=True,
                              camera_open=lambda: recorder.status()["camera"] != "released")
        auth = for_database()
        auth.set_pin(TEST_PIN)
        services = AppServices(ctx=ctx, bus=bus, store=store, db=db, recorder=recorder, auth=auth,
                               sessions=flow_sessions(store, settings.profile), demo_badge="DEMO", devices=devices)
        recorder.open()
        made.append(services)
        return services

    yield make
    for services in made:
        services.close()


def open_store(ctx, template_path):
    """The real session store and database in the test's data dir, with the test template as the walk-in default."""
    from kiosk.db import db
    from kiosk.sessions import SessionStore
    store = SessionStore.open(ctx.data, ctx.config)
    store.import_template(template_path)
    store.set_default_template("uitest")
    return store, db


@pytest.fixture
def make_window(qtbot, make_services):
    """make_window(size=(w, h), **config) -> KioskWindow shown full screen on an offscreen screen of that size."""
    from ui.main_window import KioskWindow
    windows = []

    def make(size=None, kiosk_mode=True, **values):
        services = make_services(**values)
        window = KioskWindow(services, kiosk_mode=kiosk_mode, demo_badge=services.demo_badge, screen_size=size)
        qtbot.addWidget(window)
        window.show_kiosk()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown()
