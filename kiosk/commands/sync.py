"""`kiosk sync [--once] [--server URL] [--json] [--retry] [--queue-all]`: upload the queue to the tus server, headless."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from kiosk.db.database import DatabaseError, close_database, open_database
from kiosk.sync import tus
from kiosk.sync.lock import SyncBusy
from kiosk.sync.worker import ItemReport, SyncWorker, queue_ended_interviews

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sync", help="upload finished sessions to the tus server and report per file",
        description="Uploads every queued file (recordings and session JSON) to the tus 1.0 server in "
                    "sync.server_url, resuming partial uploads, and marks a file synced only when the server holds "
                    "every byte (and, where it allows, the checksum or read-back matched). Without --once it keeps "
                    "running and drains the queue as it fills, until Ctrl+C.")
    parser.add_argument("--once", action="store_true",
                        help="try every queued file once, now (ignoring back-off), then exit; exit 1 if any is "
                             "not synced")
    parser.add_argument("--server", metavar="URL", help="the tus endpoint to use instead of sync.server_url")
    parser.add_argument("--json", action="store_true", help="print one JSON object (with --once) or one JSON line "
                        "per file")
    parser.add_argument("--retry", action="store_true", help="put blocked and failed files back in the queue first "
                        "(after fixing the token, the server limit or the file)")
    parser.add_argument("--queue-all", action="store_true", help="queue every ended session that is not queued "
                        "yet before anything else (the uploader also does this by itself whenever its queue is "
                        "empty; sessions recorded before sync was set up are included)")
    parser.set_defaults(func=_run)


def _line(report: ItemReport) -> str:
    size = f"{report.size} bytes" if report.size is not None else "? bytes"
    if report.status == "synced":
        resumed = f", resumed at {report.resumed_from}" if report.resumed_from else ""
        return (f"synced   {report.file} ({size}, sent {report.sent}{resumed}, verified by "
                f"{'+'.join(report.verified_by)}, {report.seconds:.1f} s)")
    return f"{report.status:8} {report.file} ({report.offset} of {size}): {report.error}"


def _run(args, ctx) -> int:
    try:
        open_database(ctx.data.database)
    except DatabaseError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        if args.queue_all:
            queue_ended_interviews(ctx.data, ctx.config)
        try:
            worker = SyncWorker(ctx.config, ctx.data, server_url=args.server)
        except tus.TusConfigError as exc:
            print(f"kiosk: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if worker.token_withheld:
            print(f"kiosk: note: sync.token is for {tus.safe_url(ctx.config['sync.server_url']) or 'no server'}; "
                  f"it is not sent to {tus.safe_url(worker.server_url)}.", file=sys.stderr)
        if args.retry:
            worker.retry_stopped()
        if args.once:
            return _once(worker, args)
        return _forever(worker, args)
    finally:
        close_database()


def _once(worker: SyncWorker, args) -> int:
    try:
        reports = worker.run_once()
    except SyncBusy as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        worker.stop()
    left = worker.queue()
    ok = all(r.status == "synced" for r in reports)
    unexpected = [r for r in reports if r.error.startswith("unexpected error")]
    if args.json:
        print(json.dumps({"ok": ok, "server": worker.server_url, "files": [r.to_json() for r in reports],
                          "synced": sum(r.status == "synced" for r in reports),
                          "not_synced": len(left)}, default=str))
    else:
        for report in reports:
            print(_line(report))
        if not reports:
            print("nothing to upload")
        print(f"{sum(r.status == 'synced' for r in reports)} synced, {len(left)} not synced")
    if unexpected:
        print(f"kiosk: {len(unexpected)} file(s) hit an unexpected error (logged with its session in "
              f"<data dir>/logs/kiosk.log); they stay queued. Fix: send that log to the kiosk's maintainers.",
              file=sys.stderr)
    return EXIT_OK if ok else EXIT_FAILED


def _forever(worker: SyncWorker, args) -> int:
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    def on_item(event) -> None:
        data = event.data
        if data.get("status") == "uploading":
            return
        if args.json:
            print(json.dumps({"event": event.kind, **data}, default=str), flush=True)
        else:
            error = f": {data['error']}" if data.get("error") else ""
            print(f"{data['status']:8} {data['file']}{error}", flush=True)
    worker.bus.subscribe(on_item, prefix="sync.item")
    worker.start()
    try:
        while not done.wait(0.5):
            pass
    finally:
        worker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK
