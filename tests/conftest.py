"""Test harness: real parts wherever they can run here.

- PulseAudio with a virtual microphone starts once collection is done, before any test runs, unless every selected
  test is marked `pure` (pytest_collection_finish).
- Widgets run on Qt's offscreen platform; end-to-end tests start their own Xvfb.
- Any log record at WARNING or above that a test did not declare with `expect_log` fails that test.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

# Fixtures owned by the harness modules (one module per outside thing).
pytest_plugins = [
    "tests.helpers.db",
    "tests.helpers.transcripts",
    "tests.harness.camera",
    "tests.harness.tus",
    "tests.harness.tus_hostile",
    "tests.harness.s3",
    "tests.harness.tiny_fs",
    "tests.harness.xvfb",
    "tests.harness.systemd",
    "tests.harness.wm",
]

_pulse = None


def pytest_configure(config):
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.pop("KIOSK_CONFIG", None)
    # Never fall back to a developer's real data dir or config from a test.
    os.environ["KIOSK_CONFIG"] = "/nonexistent/kiosk-tests.toml"


def pytest_collection_finish(session):
    """The virtual microphone starts before any test runs (PortAudio enumerates devices when sounddevice is first
    used), unless every selected test is marked `pure` (no outside part at all: the reducer, the layout, parsing)."""
    if any(item.get_closest_marker("pure") is None for item in session.items):
        _start_pulse(session.config)


def _start_pulse(config):
    global _pulse
    if _pulse is not None:
        return _pulse
    if shutil.which("pulseaudio") is None:
        raise pytest.UsageError("pulseaudio is not installed. Fix: run 'make test' (it installs the test packages).")
    from tests.harness.pulse import PulseServer

    _pulse = PulseServer().start()
    os.environ.update(_pulse.env)
    if "sounddevice" in sys.modules:     # imported while collecting: PortAudio listed the devices before the server
        import sounddevice

        sounddevice._terminate()
        sounddevice._initialize()
    return _pulse


def pytest_unconfigure(config):
    if _pulse is not None:
        _pulse.stop()


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.expected: list[tuple[str, re.Pattern]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def unexpected(self) -> list[logging.LogRecord]:
        return [r for r in self.records
                if not any(r.name.startswith(name) and pattern.search(r.getMessage())
                           for name, pattern in self.expected)]


@pytest.fixture(autouse=True)
def fail_on_warning_logs():
    collector = _WarningCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    yield collector
    root.removeHandler(collector)
    bad = collector.unexpected()
    if bad:
        lines = "\n".join(f"  {r.levelname} {r.name}: {r.getMessage()}" for r in bad[:10])
        pytest.fail(f"unexpected log records at WARNING or above:\n{lines}", pytrace=False)


@pytest.fixture
def expect_log(fail_on_warning_logs):
    """Declare a warning the test expects: expect_log("kiosk.recorder", r"camera lost")."""
    def expect(logger: str, pattern: str) -> None:
        fail_on_warning_logs.expected.append((logger, re.compile(pattern)))
    return expect


@pytest.fixture
def data_dir(tmp_path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def pulse(pytestconfig):
    """The running virtual-microphone server (see tests/harness/pulse.py)."""
    return _start_pulse(pytestconfig)
