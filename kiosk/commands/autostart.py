"""`kiosk install-autostart` and `kiosk uninstall-autostart`: boot straight into the kiosk."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kiosk import autostart


def register(sub: argparse._SubParsersAction) -> None:
    install = sub.add_parser("install-autostart",
                             help="start the kiosk at boot or login and restart it if it dies or hangs "
                                  "(cage kiosk compositor, systemd user unit or XDG)")
    install.add_argument("--method", choices=("auto", "cage", "systemd", "xdg"), default="auto",
                         help="cage: a system unit running the kiosk alone in the cage compositor on a tty, as "
                              "--user (recommended; run as root); systemd: a user unit with restart and watchdog "
                              "in the desktop session; xdg: an autostart entry with a restart loop "
                              "(auto: systemd where systemctl exists, else xdg)")
    install.add_argument("--user", default=os.environ.get("SUDO_USER") or "kiosk",
                         help="cage: the account the kiosk runs as (default: the sudo caller, else kiosk)")
    install.add_argument("--tty", type=int, default=1, help="cage: the virtual terminal to take (default: 1)")
    install.add_argument("--unit-dir", metavar="DIR", type=Path, default=autostart.SYSTEM_UNIT_DIR,
                         help="cage: where to write the unit (default: /etc/systemd/system; another folder "
                              "stages it, e.g. for an image)")
    install.set_defaults(func=_install)
    uninstall = sub.add_parser("uninstall-autostart", help="undo install-autostart")
    uninstall.set_defaults(func=_uninstall)


def _install(args, ctx) -> int:
    config_file = ctx.config.source if ctx.config.source and ctx.config.source.exists() else None
    try:
        if args.method == "cage":
            # Run by root for another account: only what was asked for explicitly goes on the command line (else
            # the kiosk user's own default data dir and config apply, not root's).
            command = autostart.kiosk_command(Path(args.data_dir).resolve() if args.data_dir else None,
                                              Path(args.config).resolve() if args.config else None)
            result = autostart.install_cage(command, args.user, args.tty, args.unit_dir)
        else:
            result = autostart.install(args.method, autostart.kiosk_command(ctx.data.root, config_file))
    except autostart.AutostartError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    print(f"{result.method}: {result.path}: {result.message}")
    return 0


def _uninstall(args, ctx) -> int:
    try:
        removed = autostart.uninstall()
    except autostart.AutostartError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    for path in removed:
        print(f"removed {path}")
    if not removed:
        print("nothing to remove: no autostart entry written by kiosk")
    return 0
