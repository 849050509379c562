"""`kiosk export --to DIR [--since DATE] [--until DATE] [--session UUID ...] [--json]`: a verified BagIt bag."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from kiosk.db.database import DatabaseError, close_database


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export", help="copy sessions to a folder (e.g. a USB stick) as a checksummed, verified BagIt bag",
        description="Writes kiosk-export-<time>/ (BagIt 1.0, sha256) into DIR under a temporary name, reads it "
                    "back against the manifest and only then gives it its final name. Without --session/--since/"
                    "--until every session is exported.")
    parser.add_argument("--to", required=True, metavar="DIR", help="existing target folder, e.g. /media/kiosk/STICK")
    parser.add_argument("--since", metavar="DATE", type=_date, help="first day (YYYY-MM-DD, local time), inclusive")
    parser.add_argument("--until", metavar="DATE", type=_date, help="last day (YYYY-MM-DD, local time), inclusive")
    parser.add_argument("--session", metavar="UUID", action="append", default=[], help="a session's uuid "
                        "(repeat for more)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.set_defaults(func=_run)


def _date(text: str):
    from kiosk import export     # the export engine and the sessions layer load only for this command

    try:
        return export.parse_date(text)
    except export.ExportError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run(args, ctx) -> int:
    from kiosk import export
    from kiosk.sessions import SessionStore

    cancel = threading.Event()

    def on_signal(signum, frame):
        cancel.set()
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    last_line = [""]

    def on_progress(p: export.ExportProgress) -> None:
        if args.json or not sys.stderr.isatty():
            return
        eta = f", {p.eta_s:.0f} s left" if p.eta_s is not None else ""
        line = (f"\r{p.phase:6} {p.fraction * 100:5.1f} %  {p.phase_bytes / 1e6:.1f} of "
                f"{p.payload_bytes / 1e6:.1f} MB{eta}")
        sys.stderr.write(line.ljust(len(last_line[0])))
        last_line[0] = line
        if p.phase == "done":
            sys.stderr.write("\n")
    try:
        store = SessionStore.open(ctx.data, ctx.config)
        result = export.export_sessions(store, args.to, since=args.since, until=args.until,
                                        uuids=args.session or None, actor="cli", progress=on_progress, cancel=cancel)
    except DatabaseError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    except export.ExportCancelled as exc:
        _report(args, {"ok": False, "cancelled": True, "error": str(exc)})
        return 130
    except export.ExportError as exc:
        _report(args, {"ok": False, "error": str(exc)})
        return 1
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        close_database()
    if args.json:
        print(json.dumps({"ok": True, **result.to_json()}))
    else:
        print(f"exported {result.sessions} session(s), {result.files} file(s), {result.payload_bytes / 1e6:.1f} MB "
              f"to {result.path} in {result.seconds:.1f} s; verified against the manifest; {result.modes}")
    return 0


def _report(args, payload: dict) -> None:
    if args.json:
        print(json.dumps(payload))
    else:
        print(f"kiosk: {payload['error']}", file=sys.stderr)
