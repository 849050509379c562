"""Who owns a row: process id, host and boot id, so a crashed owner can be told from a live one."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from pathlib import Path
from typing import Any


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        # No /proc (not Linux): the boot time stands in for a boot id.
        return f"boot-{int(time.time() - time.monotonic())}"


def current_owner() -> dict[str, Any]:
    return {"owner_pid": os.getpid(), "owner_host": socket.gethostname(), "owner_boot_id": boot_id()}


def _process_start(pid: int) -> float | None:
    """Wall-clock start time of a process (Linux), to tell a reused pid from the original owner."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])          # field 22 of stat: start time in clock ticks after boot
        state = fields[0]
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                if state == "Z":
                    return None
                return int(line.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
    return None


def owner_alive(pid: int | None, host: str | None, boot: str | None, since: dt.datetime | None = None) -> bool:
    """Is the process that owns a row still running? Rows of another host are treated as alive (not ours to touch)."""
    if pid is None:
        return False
    if host and host != socket.gethostname():
        return True
    if boot and boot != boot_id():
        return False                      # the machine restarted since: that process is gone
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if Path("/proc").is_dir():
        started = _process_start(pid)
        if started is None:
            return False                  # a zombie, or gone between the two checks
        if since is not None and started > since.timestamp() + 2.0:
            return False                  # the pid was reused by a process that started after the row was written
    return True

