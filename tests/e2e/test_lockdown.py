"""Kiosk mode under real X11 window managers (openbox, xfwm4, stock key bindings) on Xvfb: none of the WM's keys
(nor its Alt+mouse bindings) leaves the kiosk. After each one: the kiosk still has the focus, covers the screen, is
still mapped, the desktop is still 0, the magenta xterm behind it does not show, and keys typed "into the xterm" do
not reach it. Another program activating its window or minimising the kiosk is undone. With the admin console open
the grabs are released (staff may use other windows) and Alt+Tab reaches the WM again.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.helpers.kiosk_process import (DEMO_DEVICES, PIN, ROOT, Driver, app_env, kiosk_command, log_lines,
                                         set_pin, wait_for)
from tests.harness.wm import OTHER_TITLE

KIOSK_TITLE = "Interview kiosk"
# Alt+Tab cycles, Super+D / Ctrl+Alt+D show the desktop, Ctrl+Alt+Right switches workspace, Alt+Space opens the
# window menu, Alt+F9 minimises (xfwm4), Alt+Esc lowers (openbox), Alt+F11 drops full screen (xfwm4), Alt+F4 closes.
ESCAPE_KEYS = ("alt+Tab", "super+d", "ctrl+alt+d", "ctrl+alt+Right", "alt+space", "alt+F9", "alt+Escape",
               "alt+F11", "alt+F4")
# The WMs' mouse bindings: Alt+wheel switches the desktop (openbox), Alt+drag moves, Alt+right-drag resizes.
ESCAPE_MOUSE = {
    "Alt+wheel down": ["keydown", "alt", "click", "5", "keyup", "alt"],
    "Alt+wheel up": ["keydown", "alt", "click", "4", "keyup", "alt"],
    "Alt+drag": ["mousemove", "600", "400", "keydown", "alt", "mousedown", "1", "mousemove", "900", "600",
                 "mouseup", "1", "keyup", "alt"],
    "Alt+right-drag": ["mousemove", "600", "400", "keydown", "alt", "mousedown", "3", "mousemove", "300", "200",
                       "mouseup", "3", "keyup", "alt"],
}
SETTLE_S = 1.5


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_window_manager_keys_do_not_leave_the_kiosk(desktop, tmp_path, pulse):
    data = tmp_path / "data"
    env = app_env(**desktop.xvfb.env, **pulse.env, KIOSK_UI_MAP=str(tmp_path / "ui.json"))
    set_pin(data, env)
    config = tmp_path / "kiosk.toml"
    config.write_text(DEMO_DEVICES)
    out = open(tmp_path / "app.out", "w")
    proc = subprocess.Popen(kiosk_command("--data-dir", str(data), "--config", str(config)), env=env, cwd=ROOT,
                            stdout=out, stderr=subprocess.STDOUT)
    drive = Driver(desktop.xvfb, tmp_path / "ui.json", proc)
    marker = desktop.home / "escaped"            # the xterm's working dir; only letters, so the kiosk ignores them
    try:
        drive.wait("attract", timeout=60, button="start")
        kiosk = wait_for(lambda: desktop.window_by_name(KIOSK_TITLE), 30, "the kiosk window is mapped")
        wait_for(lambda: log_lines(data, "keyboard and pointer grab taken"), 30, "the kiosk takes the keyboard grab")
        wait_for(lambda: desktop.active_name() == KIOSK_TITLE, 30, "the kiosk has the focus")
        full_screen = (0, 0, *desktop.xvfb.size)
        escapes = {}
        escapes_to_try = {key: ["key", "--clearmodifiers", key] for key in ESCAPE_KEYS} | ESCAPE_MOUSE
        for key, xdotool_args in escapes_to_try.items():
            desktop.run("xdotool", *xdotool_args)
            time.sleep(SETTLE_S)
            state = desktop.state(kiosk)
            desktop.type_into_focus(f"touch {marker.name}")
            time.sleep(0.5)
            problems = [problem for problem, bad in (
                (f"focus on {state.active_name!r}", state.active_name != KIOSK_TITLE),
                (f"kiosk moved or resized to {state.kiosk_geometry}", state.kiosk_geometry != full_screen),
                ("kiosk unmapped", not state.kiosk_mapped),
                (f"desktop {state.desktop}", state.desktop != 0),
                (f"xterm shows ({state.magenta_share:.1%} magenta)", state.magenta_share > 0.001),
                ("typed keys reached the xterm", marker.exists())) if bad]
            if problems:
                escapes[key] = problems
            marker.unlink(missing_ok=True)
            desktop.restore(kiosk)                # undo a failed key, so each key is judged on its own
        assert not escapes, f"{desktop.wm}: keys that got past the kiosk: {escapes}"
        assert proc.poll() is None, "the kiosk exited"

        # Another program takes the focus, or minimises the kiosk: the kiosk comes back on its own.
        other = desktop.window_by_name(OTHER_TITLE)
        desktop.run("xdotool", "windowactivate", str(other), check=False)
        wait_for(lambda: desktop.active_name() == KIOSK_TITLE and desktop.magenta_share() < 0.001, 10,
                 "the kiosk takes the focus back from another window")
        desktop.run("xdotool", "windowminimize", str(kiosk))
        wait_for(lambda: desktop.mapped(kiosk) and desktop.active_name() == KIOSK_TITLE, 10,
                 "the kiosk undoes a minimise")

        # Staff in the admin console: the grab is let go, so the WM's Alt+Tab works for them.
        desktop.key("ctrl+alt+shift+a")
        drive.wait("admin", timeout=15)
        for digit in PIN:
            desktop.key(digit)
        desktop.key("Return")
        wait_for(lambda: log_lines(data, "keyboard and pointer grab released"), 15,
                 "the grabs are released for the console")

        def alt_tab_reaches_the_wm() -> bool:
            # The ungrab leaves with Qt's next flush, after the console is built: a press before it is the kiosk's.
            desktop.key("alt+Tab")
            time.sleep(SETTLE_S)
            return desktop.active_name() == OTHER_TITLE
        wait_for(alt_tab_reaches_the_wm, 20, "Alt+Tab reaches the WM in the admin console", interval=0)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "killed"
        out.close()
    assert code == 0, (tmp_path / "app.out").read_text()[-3000:]
