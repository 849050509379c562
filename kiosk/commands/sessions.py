"""`kiosk sessions ...`: list, show, delete, schedule; run start-up recovery or retention by hand.

    kiosk sessions list [--json] [--status completed]
    kiosk sessions show 3f2a9c1e [--json]          # a full uuid or a unique prefix (8+ characters)
    kiosk sessions delete 3f2a9c1e [--yes] [--reason "candidate withdrew consent"]
    kiosk sessions schedule --template general --code AB12 --name "Zoë Ünal" [--ref R-7]
    kiosk sessions recover [--json]                # what the app does at start
    kiosk sessions retention [--dry-run] [--json]  # delete what is past storage.retention_days and safe
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sessions", help="list, show, delete or schedule interview sessions")
    actions = parser.add_subparsers(dest="sessions_command", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="one line per interview, newest first")
    listing.add_argument("--json", action="store_true", help="a JSON array of objects")
    listing.add_argument("--status", help="only this status (scheduled, in_progress, completed, interrupted, "
                                          "recovered, failed)")
    listing.set_defaults(func=_list)

    show = actions.add_parser("show", help="everything about one interview: recordings, events, sync")
    show.add_argument("uuid", help="the interview's uuid or a unique prefix of 8+ characters")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_show)

    delete = actions.add_parser("delete", help="delete an interview, its files and rows (asks first; audited)")
    delete.add_argument("uuid")
    delete.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    delete.add_argument("--reason", default="", help="kept in the audit log")
    delete.set_defaults(func=_delete)

    schedule = actions.add_parser("schedule", help="create an interview a candidate starts with a code")
    schedule.add_argument("--template", required=True, help="a template name from 'kiosk templates list'")
    schedule.add_argument("--code", required=True, help="the code the candidate types at the kiosk")
    schedule.add_argument("--name", default="", help="the candidate's name")
    schedule.add_argument("--ref", default="", help="your reference for the candidate")
    schedule.add_argument("--json", action="store_true")
    schedule.set_defaults(func=_schedule)

    recover = actions.add_parser("recover", help="repair cut-off takes and adopt orphan files (as at app start)")
    recover.add_argument("--json", action="store_true")
    recover.set_defaults(func=_recover)

    keep = actions.add_parser("retention", help="delete recordings past storage.retention_days that are safe")
    keep.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    keep.add_argument("--json", action="store_true")
    keep.set_defaults(func=_retention)


def open_store(ctx):
    """The SessionStore, or None after printing why the database cannot be used."""
    from kiosk.db.database import DatabaseError
    from kiosk.sessions import SessionStore

    try:
        return SessionStore.open(ctx.data, ctx.config)
    except DatabaseError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return None


def _when(value) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "-"


def _duration(seconds) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def _list(args, ctx) -> int:
    store = open_store(ctx)
    if store is None:
        return EXIT_FAILED
    from kiosk.sessions import queries

    interviews = queries.list_interviews(args.status)
    if args.json:
        print(json.dumps(queries.describe_many(interviews), ensure_ascii=False))
        return EXIT_OK
    if not interviews:
        print("no interviews yet")
        return EXIT_OK
    print(f"{'UUID':36}  {'STARTED':16}  {'LENGTH':>6}  {'STATUS':11}  {'TEMPLATE':14}  CANDIDATE")
    for i in interviews:
        name = (i.candidate_name or i.code or "").replace("\n", " ")[:30]
        print(f"{i.uuid:36}  {_when(i.started_at or i.created_at):16}  {_duration(i.recording_duration):>6}  "
              f"{i.status:11}  {i.template[:14]:14}  {name}")
    return EXIT_OK


def _open_interview(ctx, uuid: str):
    """The store and the interview `uuid` (or a unique prefix) names; None after saying why not."""
    from kiosk.sessions import SessionNotFound

    store = open_store(ctx)
    if store is None:
        return None
    try:
        return store, store.get(uuid)
    except SessionNotFound as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return None


def _show(args, ctx) -> int:
    from kiosk.sessions import queries

    found = _open_interview(ctx, args.uuid)
    if found is None:
        return EXIT_FAILED
    _store, interview = found
    info = queries.describe(interview)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"interview {info['uuid']}")
    for key in ("status", "end_reason", "template", "code", "candidate_name", "candidate_ref", "created_at",
                "started_at", "ended_at", "consent_version", "consent_at", "recording_duration", "exported_at",
                "purged_at"):
        if info[key] not in (None, ""):
            print(f"  {key:19} {info[key]}")
    for n, rec in enumerate(info["recordings"], start=1):
        size = f"{rec['size'] / 1e6:.1f} MB" if rec["size"] else "-"
        print(f"  recording {n}: {rec['state']}, {_duration(rec['duration'])}, {size}, "
              f"{rec['video_codec'] or '-'}/{rec['audio_codec'] or '-'}"
              f"{'' if rec['exists'] else ', FILE MISSING' if not rec['deleted_at'] else ', deleted'}")
        print(f"    {rec['path']}")
        if rec["error"]:
            print(f"    error: {rec['error']}")
        for s in rec["sync"]:
            print(f"    sync {s['kind']}: {s['status']} {s['offset']}/{s['size']}")
    chapters = (info["recording_data"] or {}).get("chapters") or []
    for chapter in chapters:
        print(f"  chapter {_duration(chapter.get('start'))}-{_duration(chapter.get('end'))} {chapter.get('label')}")
    if info["events"]:
        print("  events:")
        for event in info["events"]:
            at = f"@{event['offset_s']:.1f}s " if event["offset_s"] is not None else ""
            detail = json.dumps(event["detail"], ensure_ascii=False) if event["detail"] else ""
            print(f"    {event['time'][:19]} {at}{event['kind']} {detail}".rstrip())
    return EXIT_OK


def _delete(args, ctx) -> int:
    from kiosk.sessions import SessionError, queries

    found = _open_interview(ctx, args.uuid)
    if found is None:
        return EXIT_FAILED
    store, interview = found
    info = queries.describe(interview, with_events=False)
    files = [r for r in info["recordings"] if r["exists"]]
    size = sum(r["size"] or 0 for r in files)
    unsafe = [r for r in files if not r["sync"] or any(s["status"] != "synced" for s in r["sync"])]
    if not args.yes:
        if not sys.stdin.isatty():
            print("kiosk: deleting needs a yes. Fix: run it in a terminal to answer, or add --yes.",
                  file=sys.stderr)
            return EXIT_USAGE
        print(f"Delete interview {interview.uuid} ({interview.candidate_name or 'no name'}, {interview.status}), "
              f"{len(files)} file(s), {size / 1e6:.1f} MB?")
        if unsafe and not interview.exported_at:
            print("  WARNING: it is neither synced nor exported: this is the only copy.")
        answer = input("Type 'yes' to delete: ")
        if answer.strip().lower() != "yes":
            print("nothing deleted")
            return EXIT_FAILED
    try:
        summary = store.delete_interview(interview.uuid, actor="cli", reason=args.reason)
    except (SessionError, OSError) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"deleted interview {summary['uuid']}: {len(summary['files'])} file(s), {summary['bytes']} bytes "
          f"(recorded in the audit log)")
    return EXIT_OK


def _schedule(args, ctx) -> int:
    from kiosk.sessions import SessionError

    store = open_store(ctx)
    if store is None:
        return EXIT_FAILED
    try:
        interview = store.schedule(args.template, code=args.code, candidate_name=args.name, candidate_ref=args.ref,
                                   actor="cli")
    except SessionError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"uuid": interview.uuid, "code": interview.code, "template": interview.template}))
    else:
        print(f"scheduled {interview.uuid}: code {interview.code}, template {interview.template}")
    return EXIT_OK


def _recover(args, ctx) -> int:
    store = open_store(ctx)
    if store is None:
        return EXIT_FAILED
    report = store.recover_at_start()
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        for item in report.recovered:
            print(f"recovered {item['uuid']}: {item['message']}")
        for item in report.adopted:
            print(f"adopted {item['path']} as {item['uuid']}: {item['message']}")
        for item in report.failed:
            print(f"NOT recovered {item['path']}: {item['message']} (the file is kept)")
        for uuid in report.interrupted:
            print(f"closed interview {uuid} (its process had ended)")
        for uuid in report.live:
            print(f"left alone {uuid}: being recorded by a running process")
        if not report.changed and not report.live:
            print("nothing to recover")
    return EXIT_FAILED if report.failed else EXIT_OK


def _retention(args, ctx) -> int:
    from kiosk.sessions import retention

    if open_store(ctx) is None:
        return EXIT_FAILED
    report = retention.apply(ctx.config, dry_run=args.dry_run, actor="cli" if not args.dry_run else "system",
                             data=ctx.data)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        verb = "would delete" if args.dry_run else "deleted"
        for item in report.deleted:
            print(f"{verb} {item.path} ({item.bytes} bytes): {item.reason}")
        print(f"{verb} {len(report.deleted)} recording(s), {report.bytes_freed / 1e6:.1f} MB; "
              f"kept {len(report.kept)}")
        for error in report.errors:
            print(f"error: {error}", file=sys.stderr)
    return EXIT_FAILED if report.errors else EXIT_OK
