"""`kiosk transcribe PATH|UUID`: transcribe a recording or an interview now, headless, and print the text.

    kiosk transcribe 3f2a9c1e                  # an interview (uuid or 8+ character prefix): stored, like the app
    kiosk transcribe take.webm --json          # any recording; its WebVTT files are written beside it

With --json, one JSON object per chapter as it is done ({"event": "chapter", ...}) and, last, the result:
{"text": ..., "words": [{"start", "end", "text", "probability"}, ...], "vtt": captions path, "chapters_vtt": ...}.
It runs in this process at normal priority (the app's background queue runs at idle priority).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk.transcripts.engine import ENGINES

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("transcribe", help="transcribe a recording or an interview now and print the text")
    parser.add_argument("target", metavar="PATH|UUID", help="a recording file, or an interview's uuid (or prefix)")
    parser.add_argument("--engine", choices=sorted(ENGINES), help="speech recogniser (default: transcript.engine)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line; the last is the result")
    parser.set_defaults(func=run)


def run(args, ctx) -> int:
    from kiosk.commands.sessions import open_store
    from kiosk.db.models import Recording
    from kiosk.sessions import SessionNotFound
    from kiosk.transcripts import engine
    from kiosk.transcripts.chapters import Passage

    def say(obj: dict) -> None:
        if args.json:
            print(json.dumps(obj, ensure_ascii=False), flush=True)

    def tell(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    engine_name = args.engine or ctx.config["transcript.engine"]
    path = Path(args.target).expanduser()
    store = open_store(ctx)
    if store is None:
        return EXIT_FAILED
    interview = None
    if path.is_file():
        row = Recording.get_or_none(Recording.path == str(path.resolve()))
        interview = row.interview if row is not None else None
    else:
        try:
            interview = store.get(args.target)
        except SessionNotFound as exc:
            tell(f"kiosk transcribe: {args.target!r} is neither a file nor an interview ({exc})")
            return EXIT_USAGE
    template = store.get_template(interview.template) if interview is not None else None
    language = engine.interview_language(getattr(template, "language", "") or "", ctx.config["ui.language"])
    try:
        transcriber = engine.open_transcriber(engine_name, ctx.config["transcript.model_path"])
        transcriber.check_language(language)
    except engine.TranscriptError as exc:
        tell(f"kiosk transcribe: {exc}")
        return EXIT_USAGE if not isinstance(exc, engine.LanguageUnsupported) else EXIT_FAILED

    def transcribe(file: Path, chapter, lang: str):
        return transcriber.transcribe(engine.decode_audio(file, chapter.start, chapter.end), lang)

    def announce(passage: Passage) -> None:
        say({"event": "chapter", "label": passage.chapter.label, "start": passage.chapter.start,
             "end": passage.chapter.end, "words": len(passage.words)})
        if not args.json:
            tell(f"{passage.chapter.label}: {len(passage.words)} words")

    try:
        return _transcribe(args, interview, path, template, language, engine_name, transcribe, announce, say)
    except engine.TranscriptError as exc:
        tell(f"kiosk transcribe: {exc}")
        return EXIT_FAILED


def _transcribe(args, interview, path: Path, template, language: str, engine_name: str, transcribe, announce,
                say) -> int:
    from kiosk.db.models import Recording
    from kiosk.transcripts import interview as interviewmod, jobs, summary, vtt
    from kiosk.transcripts.chapters import Passage, chapters_of

    if interview is not None:
        interviewmod.forget(interview)
        place = interviewmod.placement(interview, template)
        for recording, chapter in interviewmod.pending_chapters(interview):
            announce(interviewmod.transcribe_chapter(interview, recording, chapter, transcribe, language,
                                                     engine_name, place))
        files = interviewmod.finish(interview)
        jobs.mark_done(interview, engine_name, language)
        main = str(path.resolve()) if path.is_file() else interview.recording_path
        passages = interviewmod.stored_passages(interview)
        captions, chapters_file = files.get(main, (None, None))
        main_row = Recording.get_or_none(Recording.path == main) if main else None
        shown = interviewmod.stored_passages(interview, main_row) if main_row is not None else passages
    else:
        passages = []
        for chapter in chapters_of(path):
            words = [w.shifted(chapter.start, chapter.end) for w in transcribe(path, chapter, language)]
            passages.append(Passage(chapter, words, language, chapter.label))
            announce(passages[-1])
        captions, chapters_file = vtt.write_files(path, passages)
        shown = passages
    text = summary.transcript_text(passages)
    if not args.json:
        print(text)
    say({"uuid": interview.uuid if interview is not None else None, "engine": engine_name, "language": language,
         "text": text, "words": [w.to_json() for p in shown for w in p.words],
         "vtt": str(captions) if captions else None, "chapters_vtt": str(chapters_file) if chapters_file else None,
         "passages": [p.to_json() for p in passages]})
    return EXIT_OK
