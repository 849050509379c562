"""The `kiosk` command line: parsing, config, data dir and log set-up, and the headless sub-commands.

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
from kiosk.privacy.files import private_umask

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
    "centre",
    "sessions",
    "stats",
    "templates",
    "transcribe",
    "keys",
    "verify",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass
class Context:
    data: DataDir
    config: configmod.Config
    verbose: bool = False
    # The app only: why kiosk.toml was refused (then `config` holds the defaults). The app shows it full screen
    # for staff instead of exiting, so a supervised kiosk does not restart in a loop with nothing on screen.
    config_error: str = ""


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


def prepare(argv: list[str] | None = None) -> tuple[argparse.Namespace, Context] | int:
    """Parse the command line, load and validate the config, open the data dir and the log: (args, ctx), or the exit
    code after printing why that could not be done."""
    private_umask()                  # before anything is written: every file this process makes is the user's alone
    parser = build_parser()
    args = parser.parse_args(argv)
    config_file = resolve_config_file(args.config)
    config_error = ""
    try:
        config = configmod.load(config_file)
    except configmod.ConfigError as exc:
        print(f"kiosk: configuration error: {exc}", file=sys.stderr)
        if args.command is not None:
            return EXIT_USAGE
        config, config_error = configmod.Config(source=config_file), str(exc)
    data = DataDir(resolve_data_dir(args.data_dir))
    try:
        data.ensure()
    except OSError as exc:
        print(f"kiosk: cannot use the data dir {data.root}: {exc.strerror}. "
              f"Fix: pass --data-dir DIR or set KIOSK_DATA_DIR to a writable folder.", file=sys.stderr)
        return EXIT_USAGE
    logs.setup(data.logs, level=config["log.level"], max_mb=config["log.max_mb"], backups=config["log.backups"],
               verbose=args.verbose)
    return args, Context(data=data, config=config, verbose=args.verbose, config_error=config_error)


def run_command(args: argparse.Namespace, ctx: Context) -> int:
    """Run a headless sub-command; an unexpected failure is logged and exits 1, never a traceback on screen."""
    try:
        return args.func(args, ctx)
    except KeyboardInterrupt:
        return 130
    except Exception:
        logging.getLogger("kiosk.cli").exception("kiosk %s failed", args.command)
        return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    """The headless commands (`python -m kiosk COMMAND`). The app itself starts from the `kiosk` entry point
    (launcher.py), which hands every sub-command back to run_command."""
    prepared = prepare(argv)
    if isinstance(prepared, int):
        return prepared
    args, ctx = prepared
    if args.command is None:
        if ctx.config_error:
            return EXIT_USAGE
        print("kiosk: 'python -m kiosk' runs the headless commands only (see 'python -m kiosk --help'). "
              "Fix: start the app with the 'kiosk' command (or 'python -m launcher').", file=sys.stderr)
        return EXIT_USAGE
    return run_command(args, ctx)


if __name__ == "__main__":
    raise SystemExit(main())
