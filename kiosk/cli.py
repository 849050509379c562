"""The `kiosk` command. With no sub-command it starts the full-screen app; sub-commands run headless.

Each sub-command lives in ``kiosk/commands/<name>.py`` with ``register(subparsers)``, which adds its parser and sets
``func(args, ctx) -> int``. Add a module's name to COMMAND_MODULES to expose it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from dataclasses import dataclass

from kiosk import __version__, config as configmod, logs
from kiosk.paths import DataDir, resolve_config_file, resolve_data_dir

COMMAND_MODULES = [
    "config",
    "devices",
    "record",
    "recover",
    "autostart",
    "doctor",
    "export",
    "admin",
    "sync",
    "sessions",
    "stats",
    "templates",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass
class Context:
    data: DataDir
    config: configmod.Config
    verbose: bool = False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="Interview recording kiosk. Without a command: start the full-screen app.")
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    parser.add_argument("--data-dir", metavar="DIR", help="where recordings, the database and logs live "
                        "(default: $KIOSK_DATA_DIR, else the platform's user data dir)")
    parser.add_argument("--config", metavar="FILE", help="the kiosk.toml to use (default: $KIOSK_CONFIG, "
                        "else kiosk.toml in the user config dir)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log everything, also to the terminal")
    parser.add_argument("--demo", action="store_true", help="app: use the built-in demo camera and microphone")
    parser.add_argument("--windowed", action="store_true", help="app: run in a window, not in kiosk mode")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"kiosk.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = configmod.load(resolve_config_file(args.config))
    except configmod.ConfigError as exc:
        print(f"kiosk: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    data = DataDir(resolve_data_dir(args.data_dir))
    try:
        data.ensure()
    except OSError as exc:
        print(f"kiosk: cannot use the data dir {data.root}: {exc.strerror}. "
              f"Fix: pass --data-dir DIR or set KIOSK_DATA_DIR to a writable folder.", file=sys.stderr)
        return EXIT_USAGE
    logs.setup(data.logs, level=config["log.level"], max_mb=config["log.max_mb"], backups=config["log.backups"],
               verbose=args.verbose)
    ctx = Context(data=data, config=config, verbose=args.verbose)
    if args.command is None:
        # The only place kiosk/ reaches for Qt, and only when the app is asked for.
        app = importlib.import_module("ui.app")
        return app.run(args, ctx)
    try:
        return args.func(args, ctx)
    except KeyboardInterrupt:
        return 130
    except Exception:
        logging.getLogger("kiosk.cli").exception("kiosk %s failed", args.command)
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
