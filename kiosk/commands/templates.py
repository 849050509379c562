"""`kiosk templates ...`: import, list, show and check interview templates (TOML or JSON).

    kiosk templates import resources/templates/general.toml [--default]
    kiosk templates list [--json]
    kiosk templates show general [--json]
    kiosk templates check my-template.toml        # validate only; errors name the line and the field
"""

from __future__ import annotations

import argparse
import json
import sys

from kiosk.commands.sessions import open_store


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("templates", help="import, list and check interview templates")
    actions = parser.add_subparsers(dest="templates_command", metavar="ACTION", required=True)
    imp = actions.add_parser("import", help="validate a .toml or .json template and store it (same name: replaced)")
    imp.add_argument("file")
    imp.add_argument("--default", action="store_true", help="make it the template for walk-in candidates")
    imp.set_defaults(func=_import)
    listing = actions.add_parser("list", help="the imported templates")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)
    show = actions.add_parser("show", help="one template's questions")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="the template in its canonical JSON form")
    show.set_defaults(func=_show)
    check = actions.add_parser("check", help="validate a template file without importing it")
    check.add_argument("file")
    check.set_defaults(func=_check)


def _import(args, ctx) -> int:
    from kiosk.sessions.templates import TemplateError

    store = open_store(ctx)
    if store is None:
        return 1
    try:
        template, outcome = store.import_template(args.file, actor="cli")
        if args.default:
            store.set_default_template(template.name, actor="cli")
    except TemplateError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    print(f"{outcome} template {template.name!r}: {len(template.questions)} question(s), longest answer "
          f"{template.longest_answer_s:g} s{' (default for walk-ins)' if store.default_template_name() == template.name else ''}")
    return 0


def _list(args, ctx) -> int:
    store = open_store(ctx)
    if store is None:
        return 1
    default = store.default_template_name()
    rows = store.list_templates()
    if args.json:
        print(json.dumps([{"name": r.name, "title": r.title, "questions": len(r.body.get("questions", [])),
                           "default": r.name == default, "sha256": r.sha256, "source": r.source,
                           "imported_at": r.imported_at.isoformat(), "updated_at": r.updated_at.isoformat()}
                          for r in rows], ensure_ascii=False))
        return 0
    if not rows:
        print("no templates imported; walk-ins use the bundled sample. "
              "Import one with: kiosk templates import FILE")
        return 0
    for r in rows:
        mark = "*" if r.name == default else " "
        print(f"{mark} {r.name:24} {len(r.body.get('questions', [])):3} question(s)  {r.title}")
    print("(* = used for walk-in candidates)")
    return 0


def _show(args, ctx) -> int:
    store = open_store(ctx)
    if store is None:
        return 1
    template = store.get_template(args.name)
    if template is None:
        print(f"kiosk: no template named {args.name!r}. Fix: see 'kiosk templates list'.", file=sys.stderr)
        return 1
    if args.json:
        print(template.to_json())
        return 0
    print(f"{template.name}: {template.title} (consent {template.consent_version})")
    if template.practice:
        print(f"  practice: {template.practice.text}")
    for n, q in enumerate(template.questions, start=1):
        print(f"  {n}. {q.text}  [think {q.think_s:g} s, answer {q.answer_s:g} s, retakes {q.retakes}]")
    return 0


def _check(args, ctx) -> int:
    from kiosk.sessions import templates

    try:
        template = templates.load(args.file)
    except templates.TemplateError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    print(f"{args.file}: OK ({template.name!r}, {len(template.questions)} question(s))")
    return 0
