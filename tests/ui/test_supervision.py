"""The app's side of systemd supervision on a real notify socket: READY=1 with a STATUS once the window is exposed,
WATCHDOG=1 at half the watchdog period from the UI thread, a STATUS on every screen change (no personal data),
STOPPING=1 on the way out."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest

from tests.helpers.ui import click
from ui.supervision import Supervision


@pytest.fixture
def notify_socket(monkeypatch):
    folder = Path(tempfile.mkdtemp(prefix="nfy", dir="/tmp"))     # short: AF_UNIX paths are limited
    path = folder / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    yield sock
    sock.close()
    path.unlink()
    folder.rmdir()


def received(sock) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


def test_ready_pings_status_and_stopping_reach_the_supervisor(qtbot, make_window, notify_socket):
    window = make_window(size=(1280, 800))
    supervision = Supervision(window)
    supervision.start()
    messages: list[str] = []

    def collect(predicate) -> bool:
        messages.extend(received(notify_socket))
        return any(predicate(m) for m in messages)

    qtbot.waitUntil(lambda: collect(lambda m: m.startswith("READY=1")), timeout=5000)
    assert "READY=1\nSTATUS=waiting for a candidate" in messages
    qtbot.waitUntil(lambda: collect(lambda m: m == "WATCHDOG=1") and messages.count("WATCHDOG=1") >= 3,
                    timeout=5000)
    click(qtbot, window, "start")              # a candidate starts: the code screen
    qtbot.waitUntil(lambda: collect(lambda m: m.startswith("STATUS=") and "waiting" not in m), timeout=5000)
    statuses = [m for m in messages if m.startswith("STATUS=")]
    assert statuses[-1] == "STATUS=candidate entering a code", statuses
    supervision.stopping()
    assert received(notify_socket)[-1] == "STOPPING=1\nSTATUS=shutting down"
