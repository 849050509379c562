"""`kiosk admin set-pin` (and `kiosk admin status`): the admin PIN from a terminal."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from kiosk import admin_auth
from kiosk.db.database import DatabaseError, close_database, open_database


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("admin", help="admin PIN: set it, or show whether one is set and locked")
    commands = parser.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    set_pin = commands.add_parser(
        "set-pin", help="set (or reset) the admin PIN; also lifts a lockout",
        description=f"Asks twice for a PIN of {admin_auth.PIN_MIN_LEN}-{admin_auth.PIN_MAX_LEN} digits. "
                    f"For scripts: --stdin reads it from the first line of standard input.")
    set_pin.add_argument("--stdin", action="store_true", help="read the PIN from standard input (no prompt)")
    set_pin.set_defaults(func=_set_pin)
    status = commands.add_parser("status", help="is a PIN set, how many tries are left, is the pad locked")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)


def _set_pin(args, ctx) -> int:
    if args.stdin:
        pin = sys.stdin.readline().strip()
    else:
        if not sys.stdin.isatty():
            print("kiosk: no terminal to ask for the PIN. Fix: run it in a terminal, or pass --stdin and pipe the "
                  "PIN in.", file=sys.stderr)
            return 2
        pin = getpass.getpass("New admin PIN: ")
        if getpass.getpass("Same PIN again: ") != pin:
            print("kiosk: the two PINs differ; nothing was changed. Fix: run it again.", file=sys.stderr)
            return 1
    try:
        admin_auth.validate_pin(pin)
        open_database(ctx.data.database)
        admin_auth.for_database(actor="cli").set_pin(pin, by="cli")
    except admin_auth.PinError as exc:
        print(f"kiosk: {exc} Nothing was changed.", file=sys.stderr)
        return 1
    except DatabaseError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    finally:
        close_database()
    print("admin PIN set")
    return 0


def _status(args, ctx) -> int:
    try:
        open_database(ctx.data.database)
        auth = admin_auth.for_database(actor="cli")
        state = {"pin_set": not auth.needs_pin(), "tries_left": auth.tries_left(),
                 "locked_for_s": round(auth.lock_remaining())}
    except DatabaseError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    finally:
        close_database()
    if args.json:
        print(json.dumps(state))
    else:
        unset = "no (set one with 'kiosk admin set-pin'; until then the app opens no admin console)"
        print(f"PIN set: {'yes' if state['pin_set'] else unset}; "
              f"tries left: {state['tries_left']}; "
              f"locked: {str(state['locked_for_s']) + ' s more' if state['locked_for_s'] else 'no'}")
    return 0
