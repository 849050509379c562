"""A real systemd user manager (with its own journald), private to one test, on a machine whose PID 1 is not systemd.

`systemd --user` starts only where /run/systemd/system exists; making that directory on the host would make apt
believe systemd runs, so the manager gets a private mount namespace with a tmpfs /run. It needs a cgroup of its own
(named `<x>.slice/user@0.service`, so journald files the services' output under _SYSTEMD_USER_UNIT). From outside
the namespace `systemctl --user` reaches it through $XDG_RUNTIME_DIR/systemd/private (no D-Bus). Needs root.

    manager = UserManager({"DISPLAY": ":99"})          # or the `user_manager` fixture
    manager.ctl("daemon-reload"); manager.ctl("start", "--no-block", UNIT)
    manager.show(UNIT)["ActiveState"]; manager.journal(UNIT)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

CGROUP_ROOT = Path("/sys/fs/cgroup")
HIERARCHIES = ("unified", "systemd")

# Runs as root with BASE and CG set; ends in exec, so its PID is the manager's.
START = r"""
for h in unified systemd; do mkdir -p /sys/fs/cgroup/$h/$CG; echo $$ > /sys/fs/cgroup/$h/$CG/cgroup.procs; done
exec unshare --mount --propagation private sh -c '
  mount -t tmpfs -o mode=755 tmpfs /run; mkdir -p /run/systemd/system /run/log/journal
  mount --bind "$BASE/journal" /run/log/journal; mount --bind "$BASE/journald.conf" /etc/systemd/journald.conf
  /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 & echo $! > "$BASE/journald.pid"
  i=0; while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
  SYSTEMD_LOG_TARGET=journal exec /lib/systemd/systemd --user'
"""


def _check_host() -> None:
    if os.geteuid() != 0:
        raise RuntimeError("the systemd user-manager harness needs root (cgroups, a mount namespace).")
    for tool in ("/lib/systemd/systemd", "/lib/systemd/systemd-journald", "systemctl", "journalctl", "unshare"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is missing. Fix: apt-get install systemd util-linux.")
    for hierarchy in HIERARCHIES:
        if not (CGROUP_ROOT / hierarchy).is_dir():
            raise RuntimeError(f"{CGROUP_ROOT / hierarchy} is not mounted: the harness expects the cgroup v1 "
                               f"hybrid layout (unified + name=systemd).")


class UserManager:
    def __init__(self, extra_env: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        _check_host()
        # Short: AF_UNIX paths are limited to 107 characters and pytest's tmp_path can be longer.
        self.base = Path(tempfile.mkdtemp(prefix="sd", dir="/tmp"))
        self.cgroup = f"kt{os.getpid()}x{self.base.name[2:]}.slice/user@0.service"
        for folder in ("rt", "cfg/systemd/user", "journal"):
            (self.base / folder).mkdir(parents=True)
        (self.base / "rt").chmod(0o700)
        (self.base / "journald.conf").write_text("[Journal]\nStorage=volatile\nReadKMsg=no\n")
        # The manager passes its own environment on to its units: keep it clean.
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
                    "XDG_RUNTIME_DIR": f"{self.base}/rt", "XDG_CONFIG_HOME": f"{self.base}/cfg", **(extra_env or {})}
        self.proc = subprocess.Popen(["bash", "-c", START], env={**self.env, "BASE": str(self.base),
                                                                  "CG": self.cgroup},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while not (self.base / "rt/systemd/private").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("systemd --user did not start (its private socket never appeared)")
            time.sleep(0.05)

    @property
    def unit_dir(self) -> Path:
        return self.base / "cfg/systemd/user"

    def drop_in(self, unit: str, text: str) -> Path:
        path = self.unit_dir / f"{unit}.d" / "test.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def ctl(self, *args: str) -> str:
        return subprocess.run(["systemctl", "--user", "--no-pager", *args], env=self.env, capture_output=True,
                              text=True, timeout=120).stdout

    def show(self, unit: str) -> dict[str, str]:
        out = self.ctl("show", "-p", "ActiveState,SubState,NRestarts,Result,MainPID,StatusText", unit)
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, unit: str) -> str:
        return subprocess.run(["journalctl", "-D", f"{self.base}/journal", "--no-pager", "--user-unit", unit],
                              capture_output=True, text=True, timeout=60).stdout

    def _cgroup_tops(self) -> list[Path]:
        return [CGROUP_ROOT / hierarchy / self.cgroup.split("/")[0] for hierarchy in HIERARCHIES]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()          # the manager stops every unit first, each within its TimeoutStopSec
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for top in self._cgroup_tops():
            for procs in (top.rglob("cgroup.procs") if top.exists() else ()):
                for pid in procs.read_text().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        journald = self.base / "journald.pid"
        if journald.exists():
            try:
                os.kill(int(journald.read_text()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
        time.sleep(0.5)
        for top in self._cgroup_tops():
            if top.exists():
                for folder in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                    folder.rmdir()
                top.rmdir()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def user_manager():
    """A private systemd user manager; give its units a display with ctl("set-environment", "DISPLAY=:N")."""
    manager = UserManager()
    yield manager
    manager.stop()
