"""`kiosk config show` and `kiosk config check FILE`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk import config as configmod


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="show the settings in force or check a kiosk.toml")
    commands = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = commands.add_parser("show", help="print every setting with its value and help, as TOML")
    show.add_argument("--json", action="store_true", help="print the values as one JSON object")
    show.set_defaults(func=_show)
    check = commands.add_parser("check", help="validate a kiosk.toml; exit 0 when it is good")
    check.add_argument("file")
    check.set_defaults(func=_check)


def _show(args, ctx) -> int:
    shown = ctx.config.shown()          # secrets and URL credentials are left out by option, never by text search
    if args.json:
        print(json.dumps(shown))
    else:
        source = ctx.config.source if ctx.config.source and ctx.config.source.exists() else "defaults"
        print(f"# from: {source}")
        print(ctx.config.to_toml(values=shown), end="")
    return 0


def _check(args, ctx) -> int:
    path = Path(args.file)
    if not path.exists():
        print(f"kiosk: {path} does not exist. Fix: give the path of a kiosk.toml.", file=sys.stderr)
        return 2
    try:
        configmod.load(path)
    except configmod.ConfigError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    print(f"{path}: OK")
    return 0
