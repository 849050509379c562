"""`kiosk install-autostart` and `kiosk uninstall-autostart`: boot straight into the kiosk."""

from __future__ import annotations

import argparse
import sys

from kiosk import autostart


def register(sub: argparse._SubParsersAction) -> None:
    install = sub.add_parser("install-autostart",
                             help="start the kiosk at login and restart it if it dies (systemd user unit or XDG)")
    install.add_argument("--method", choices=("auto", "systemd", "xdg"), default="auto",
                         help="systemd: a user unit with restart and watchdog; xdg: an autostart entry with a "
                              "restart loop (default: systemd where systemctl exists)")
    install.set_defaults(func=_install)
    uninstall = sub.add_parser("uninstall-autostart", help="undo install-autostart")
    uninstall.set_defaults(func=_uninstall)


def _install(args, ctx) -> int:
    command = autostart.kiosk_command(ctx.data.root, ctx.config.source if ctx.config.source and
                                      ctx.config.source.exists() else None)
    try:
        result = autostart.install(args.method, command)
    except autostart.AutostartError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    print(f"{result.method}: {result.path}: {result.message}")
    return 0


def _uninstall(args, ctx) -> int:
    removed = autostart.uninstall()
    for path in removed:
        print(f"removed {path}")
    if not removed:
        print("nothing to remove: no autostart entry written by kiosk")
    return 0
