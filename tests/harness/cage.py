"""cage (the Wayland kiosk compositor) headless, with no GPU, as root: what its screen shows, grabbed with grim.

- WLR_BACKENDS=headless gives one 1280x720 output (the wlroots 0.15 default); WLR_RENDERER=pixman, since there is
  no /dev/dri here.
- cage refuses to run as root, so it runs in a user namespace that maps uid 1000 (setuid(0) fails in there, while
  file access stays root's; a bare `unshare --user` breaks Xwayland's keymap compiler).
- cage 0.1.4 scans the single full-screen client's buffer out directly and grim then returns a stale or black
  frame; rotating the output twice by 90° (`cage -r -r`) makes it composite, and grim turns the image back upright.

    command = in_user_namespace(with_headless_workaround(exec_start))     # exec_start: cage ... -- kiosk ...
    environment = headless_env(runtime_dir)                             # plus whatever the unit sets
    screenshot(runtime_dir, path)                                       # once the kiosk's window is up
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HEADLESS = {"WLR_BACKENDS": "headless", "WLR_LIBINPUT_NO_DEVICES": "1", "WLR_RENDERER": "pixman"}
OUTPUT_SIZE = (1280, 720)


def check_tools() -> None:
    for tool in ("cage", "grim", "unshare"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed. Fix: run 'make test' (TEST_DEBS installs cage and grim).")


def headless_env(runtime_dir: Path) -> dict[str, str]:
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {"XDG_RUNTIME_DIR": str(runtime_dir), **HEADLESS}


def with_headless_workaround(exec_start: list[str]) -> list[str]:
    """`cage ARGS -- CLIENT` with `-r -r` added (see the module doc)."""
    if Path(exec_start[0]).name != "cage":
        raise ValueError(f"not a cage command line: {exec_start}")
    return [exec_start[0], "-r", "-r", *exec_start[1:]]


def in_user_namespace(command: list[str]) -> list[str]:
    # unshare execs the command (no --fork), so its PID is cage's: a supervisor sees cage as the main process.
    return ["unshare", "--user", "--map-user=1000", "--map-group=1000", *command]


def screenshot(runtime_dir: Path, path: Path, display: str = "wayland-0") -> Path:
    subprocess.run(["grim", str(path)], env={"PATH": os.environ["PATH"], "XDG_RUNTIME_DIR": str(runtime_dir),
                                             "WAYLAND_DISPLAY": display},
                   check=True, capture_output=True, timeout=30)
    return path
