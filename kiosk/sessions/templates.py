"""Interview templates: what a candidate is asked. Loaded from TOML or JSON, validated with line-and-field errors.

    [template]
    name = "general"                 # how admins and `kiosk templates` refer to it
    title = "General interview"
    consent_version = "2026-01"
    consent_text = "We record ..."

    [practice]                       # optional, not kept
    text = "Practice: say your first name."
    think_s = 5
    answer_s = 20

    [[questions]]
    text = "Tell us about yourself."
    think_s = 20                     # think time before the answer starts (the take is paused meanwhile)
    answer_s = 120                   # answer time limit
    retakes = 1                      # how many times the candidate may redo this answer

The JSON form has the same keys: {"template": {...}, "practice": {...}, "questions": [{...}, ...]}.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from kiosk import bounded_parse
from kiosk.flow.plan import InterviewPlan, Question

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RESERVED_NAMES = {"cli"}            # the template name of takes recorded with `kiosk record`
MAX_QUESTIONS = 100
MAX_TEXT = 4000
MAX_SIZE = 1_000_000                # bytes of a template file


@dataclass(frozen=True)
class Problem:
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.field}: {self.message}"


class TemplateError(ValueError):
    """A template that cannot be used. `problems` lists each one with its line (when known) and field."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {source}:{p.line}: {p.field}: {p.message}" if p.line else f"  {source}: {p}"
                          for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the interview template:\n{lines}")


@dataclass(frozen=True)
class InterviewTemplate:
    name: str
    title: str
    consent_text: str
    consent_version: str
    questions: tuple[Question, ...]
    practice: Question | None = None
    language: str = ""
    description: str = ""

    @property
    def longest_answer_s(self) -> float:
        return max(q.answer_s for q in self.questions)

    @property
    def total_answer_s(self) -> float:
        return sum(q.answer_s * (1 + q.retakes) for q in self.questions)

    def to_dict(self) -> dict[str, Any]:
        """The canonical form (also the JSON file form); from_dict(to_dict()) gives the same template back."""
        head = {"name": self.name, "title": self.title, "consent_text": self.consent_text,
                "consent_version": self.consent_version}
        if self.language:
            head["language"] = self.language
        if self.description:
            head["description"] = self.description
        body: dict[str, Any] = {"template": head, "questions": [asdict(q) for q in self.questions]}
        if self.practice is not None:
            body["practice"] = {k: v for k, v in asdict(self.practice).items() if k != "retakes"}
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    def to_plan(self, code: str | None = None, ref: Any = None):
        """The flow's InterviewPlan for one candidate (the questions are the flow's own Question)."""
        return InterviewPlan(title=self.title, questions=self.questions, consent_text=self.consent_text, code=code,
                             practice=self.practice, ref=ref)


# ---- validation ----------------------------------------------------------------------------------------------------

class _Checker:
    def __init__(self, lines: dict[str, int]) -> None:
        self.where = bounded_parse.Document(None, lines)
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.where.line_of(path), path, message))

    def unknown_keys(self, table: dict, allowed: Iterable[str], path: str) -> None:
        allowed = list(allowed)
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                self.add(f"{path}.{key}" if path else str(key),
                         f"unknown field.{hint} Fix: use only {', '.join(allowed)}.")

    def text(self, table: dict, key: str, path: str, required: bool, default: str = "",
             max_len: int = MAX_TEXT) -> str:
        where = f"{path}.{key}" if path else key
        if key not in table:
            if required:
                self.add(where, "is missing. Fix: add it (a text in quotes).")
            return default
        value = table[key]
        if not isinstance(value, str):
            self.add(where, f"must be a text in quotes, not {type(value).__name__} {_short(value)}.")
            return default
        if required and not value.strip():
            self.add(where, "is empty. Fix: write the text.")
            return default
        if len(value) > max_len:
            self.add(where, f"is {len(value)} characters long; at most {max_len} fit on the screen.")
            return default
        bad = [c for c in value if (ord(c) < 32 and c not in "\n\t") or 0xD800 <= ord(c) <= 0xDFFF]
        if bad:
            self.add(where, f"contains control character U+{ord(bad[0]):04X}. Fix: remove it.")
            return default
        return value

    def number(self, table: dict, key: str, path: str, default: float, low: float, high: float,
               whole: bool = False) -> Any:
        where = f"{path}.{key}" if path else key
        if key not in table:
            return default
        value = table[key]
        kind = "a whole number" if whole else "a number of seconds"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
            self.add(where, f"must be {kind}, not {_short(value)}.")
            return default
        if isinstance(value, float) and not math.isfinite(value):
            self.add(where, f"must be {kind}, not {value}.")
            return default
        if not low <= value <= high:
            self.add(where, f"= {value} is out of range. Fix: use {low:g} to {high:g}.")
            return default
        return int(value) if whole else float(value)

    def question(self, table: Any, path: str, practice: bool = False) -> Question | None:
        if not isinstance(table, dict):
            self.add(path, "must be a table with text, think_s, answer_s" + ("" if practice else ", retakes") + ".")
            return None
        allowed = ("text", "think_s", "answer_s") if practice else ("text", "think_s", "answer_s", "retakes")
        before = len(self.problems)
        self.unknown_keys(table, allowed, path)
        text = self.text(table, "text", path, required=True)
        think = self.number(table, "think_s", path, 5.0 if practice else 20.0, 0, 600)
        answer = self.number(table, "answer_s", path, 20.0 if practice else 120.0, 5, 3600)
        retakes = 0 if practice else self.number(table, "retakes", path, 1, 0, 10, whole=True)
        if len(self.problems) > before:
            return None
        return Question(text=text, think_s=think, answer_s=answer, retakes=retakes)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def from_dict(body: Any, source: str = "<template>", lines: dict[str, int] | None = None) -> InterviewTemplate:
    """Validate a parsed template; raise TemplateError listing every problem."""
    check = _Checker(lines or {})
    if not isinstance(body, dict):
        raise TemplateError(source, [Problem(1, "(top)", "must be a table/object with template and questions.")])
    check.unknown_keys(body, ("template", "practice", "questions"), "")
    head = body.get("template")
    if not isinstance(head, dict):
        check.add("template", "is missing or not a table. Fix: add a [template] table with name, title, "
                              "consent_text.")
        head = {}
    check.unknown_keys(head, ("name", "title", "consent_text", "consent_version", "language", "description"),
                       "template")
    name = check.text(head, "name", "template", required=True, max_len=64)
    if name and not NAME_RE.match(name):
        check.add("template.name", f"{_short(name)} is not a usable name. Fix: letters, digits, '.', '_' or '-', "
                                   f"starting with a letter or digit, at most 64.")
    elif name in RESERVED_NAMES:
        check.add("template.name", f"'{name}' is reserved for takes recorded with `kiosk record`. "
                                   f"Fix: choose another name.")
    title = check.text(head, "title", "template", required=False, default=name, max_len=200) or name
    consent_text = check.text(head, "consent_text", "template", required=True)
    consent_version = check.text(head, "consent_version", "template", required=False, default="1", max_len=64)
    language = check.text(head, "language", "template", required=False, max_len=16)
    description = check.text(head, "description", "template", required=False)

    practice = None
    if "practice" in body:
        practice = check.question(body["practice"], "practice", practice=True)
    questions: list[Question] = []
    raw_questions = body.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        check.add("questions", "at least one question is needed. Fix: add a [[questions]] table with text.")
    elif len(raw_questions) > MAX_QUESTIONS:
        check.add("questions", f"{len(raw_questions)} questions; at most {MAX_QUESTIONS}.")
    else:
        for index, item in enumerate(raw_questions):
            question = check.question(item, f"questions[{index}]")
            if question is not None:
                questions.append(question)
    if check.problems:
        raise TemplateError(source, check.problems)
    return InterviewTemplate(name=name, title=title, consent_text=consent_text, consent_version=consent_version,
                             questions=tuple(questions), practice=practice, language=language,
                             description=description)


def parse(text: str, fmt: str, source: str = "<template>") -> InterviewTemplate:
    """Parse TOML (fmt "toml") or JSON (fmt "json") template text, within kiosk.bounded_parse's bounds (nesting,
    numbers, NUL, size): any problem is a TemplateError with its line, never a traceback."""
    if fmt not in ("toml", "json"):
        raise ValueError(f"unknown template format {fmt!r}; use 'toml' or 'json'")
    try:
        document = bounded_parse.parse(text, fmt, MAX_SIZE)
    except bounded_parse.DocumentError as exc:
        raise TemplateError(source, [Problem(exc.line, exc.path or "(syntax)", exc.message)]) from None
    return from_dict(document.body, source, document.lines)


def load(path: Path | str) -> InterviewTemplate:
    """Read a template file; the format follows the extension (.toml or .json)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise TemplateError(str(path), [Problem(None, "(file)", "unknown file type. Fix: use a .toml or .json "
                                                               "file (see resources/templates/).")])
    try:
        text = bounded_parse.read_text(path, MAX_SIZE, "template")
    except OSError as exc:
        raise TemplateError(str(path), [Problem(None, "(file)", f"cannot be read: {exc.strerror}.")]) from None
    except bounded_parse.DocumentError as exc:
        raise TemplateError(str(path), [Problem(exc.line, "(file)", exc.message)]) from None
    return parse(text, suffix[1:], str(path))


def sample_paths() -> list[Path]:
    from kiosk.resources import resources_dir
    folder = resources_dir() / "templates"
    return sorted(p for p in folder.glob("*") if p.suffix in (".toml", ".json"))


__all__ = ["InterviewTemplate", "TemplateError", "Problem", "parse", "load", "from_dict",
           "sample_paths"]
