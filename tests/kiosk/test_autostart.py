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


def test_cage_unit_runs_the_kiosk_in_cage_on_a_tty_as_the_kiosk_user(tmp_path, capsys, data_dir):
    assert main(["--data-dir", str(data_dir), "install-autostart", "--method", "cage", "--user", "booth",
                 "--tty", "2", "--unit-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(f"cage: {tmp_path / autostart.CAGE_UNIT_NAME}: written")
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(tmp_path / autostart.CAGE_UNIT_NAME)
    service = parser["Service"]
    assert (service["User"], service["TTYPath"], service["Type"], service["NotifyAccess"]) == (
        "booth", "/dev/tty2", "notify", "all")
    assert parser["Unit"]["Conflicts"] == "getty@tty2.service"
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/cage") and command[command.index("--") + 1:] == [
        sys.executable, "-m", "launcher", "--data-dir", str(data_dir.resolve())]
    assert "-s" not in command[:command.index("--")]     # no VT switching from the kiosk's keyboard


def test_cage_refuses_root_as_the_kiosk_user_and_a_foreign_unit(tmp_path, capsys, data_dir):
    assert main(["--data-dir", str(data_dir), "install-autostart", "--method", "cage", "--user", "root",
                 "--unit-dir", str(tmp_path)]) == 1
    assert "must not run as root" in capsys.readouterr().err
    foreign = tmp_path / autostart.CAGE_UNIT_NAME
    foreign.write_text("[Service]\nExecStart=/usr/bin/true\n")
    assert main(["--data-dir", str(data_dir), "install-autostart", "--method", "cage", "--user", "booth",
                 "--unit-dir", str(tmp_path)]) == 1
    assert "was not written by kiosk" in capsys.readouterr().err
    assert foreign.read_text() == "[Service]\nExecStart=/usr/bin/true\n"


def test_a_kiosk_installed_where_other_users_cannot_reach_it_is_named(tmp_path):
    private = tmp_path / "private"
    (private / "bin").mkdir(parents=True)
    private.chmod(0o700)
    (private / "bin" / "kiosk").write_text("")
    assert autostart.unreachable_for_others([str(private / "bin" / "kiosk")]) in (private, *private.parents)
    assert autostart.unreachable_for_others(["/usr/bin/env"]) is None


def test_status_lines_name_the_screen_never_the_candidate():
    assert supervision.status_line("answer", 1) == "recording Q2"
    assert supervision.status_line("think", 0) == "question Q1: thinking"
    assert supervision.status_line("answer", None, practice=True) == "practice answer (not recorded)"
    assert supervision.status_line("attract") == "waiting for a candidate"
    assert supervision.status_line("attract", device_problems=["the camera is not connected"]) == (
        "not ready: the camera is not connected")
    assert supervision.status_line("code", device_problems=["the camera is not connected"]) == (
        "candidate entering a code")
