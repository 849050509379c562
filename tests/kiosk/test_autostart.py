import configparser
import os
import shlex
import socket
import subprocess
import sys
import threading

import pytest

from kiosk import autostart, supervision
from kiosk.cli import main


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def test_xdg_entry_is_a_valid_desktop_file_whose_loop_restarts_the_app(config_home, tmp_path):
    marker = tmp_path / "starts"
    # A stand-in command that records each start and exits at once: the loop must start it again.
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x')"]
    result = autostart.install("xdg", command)
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(result.path)
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Exec"].startswith("/bin/sh -c ")
    loop = subprocess.Popen(shlex.split(entry["Exec"]), start_new_session=True)
    try:
        threading.Event().wait(5.5)
    finally:
        os.killpg(loop.pid, 9)
        loop.wait()
    assert len(marker.read_text()) >= 2   # started, exited, restarted


def test_systemd_unit_restarts_and_watches(config_home):
    result = autostart.install("systemd", ["/opt/kiosk/kiosk", "--data-dir", "/srv/kiosk data"])
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(result.path)
    service = parser["Service"]
    assert service["Restart"] == "always" and service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    assert shlex.split(service["ExecStart"]) == ["/opt/kiosk/kiosk", "--data-dir", "/srv/kiosk data"]
    assert "-dpms" in service["ExecStartPre"]


def test_install_never_clobbers_a_foreign_file_and_uninstall_undoes(config_home, capsys, data_dir):
    foreign = autostart.desktop_path()
    foreign.parent.mkdir(parents=True)
    foreign.write_text("[Desktop Entry]\nExec=someone-elses\n")
    assert main(["--data-dir", str(data_dir), "install-autostart", "--method", "xdg"]) == 1
    assert "was not written by kiosk" in capsys.readouterr().err
    assert foreign.read_text() == "[Desktop Entry]\nExec=someone-elses\n"
    foreign.unlink()
    assert main(["--data-dir", str(data_dir), "install-autostart", "--method", "xdg"]) == 0
    assert main(["--data-dir", str(data_dir), "install-autostart", "--method", "xdg"]) == 0   # idempotent
    assert str(data_dir) in autostart.desktop_path().read_text()
    assert main(["--data-dir", str(data_dir), "uninstall-autostart"]) == 0
    assert not autostart.desktop_path().exists()


def test_sd_notify_reaches_the_supervisor_socket(tmp_path, monkeypatch):
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert supervision.notify("READY=1", "STATUS=recording")
        assert server.recv(1024) == b"READY=1\nSTATUS=recording"
    monkeypatch.setenv("WATCHDOG_USEC", "60000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert supervision.watchdog_interval_s() == 30.0
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert supervision.notify("WATCHDOG=1") is False
