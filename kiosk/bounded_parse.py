"""TOML and JSON written by people (kiosk.toml, interview templates), read within bounds.

tomllib and json trust their input: 1000 nested brackets raise RecursionError, an integer of 5000 digits ValueError, a
NUL byte or a huge file go wherever they lead. Here the text is checked first (size, NUL, nesting, length of numbers),
then parsed, then what came out is walked (depth of dotted keys, NUL from escapes, integers beyond 64 bits). Every
problem is a DocumentError with the line (when there is one) and the fix; kiosk.config and the templates turn it into
their own error naming the file.

    document = bounded_parse.parse(text, "toml", max_bytes=256 * 1024)
    document.body                      # the parsed table
    document.line_of("camera.spec")    # where that key is written (or its nearest parent), None when unknown
"""

from __future__ import annotations

import bisect
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_NESTING = 16          # tables and arrays inside each other; a kiosk.toml needs 2, a template 4
MAX_DIGITS = 30           # digits of one number; 64-bit integers have at most 20
INT_LIMIT = 2 ** 63

# What the structure scan must not look inside: strings and comments (replaced by blanks, newlines kept).
_TOML_OPAQUE = re.compile(r'"""(?:[^\\]|\\.)*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
_JSON_OPAQUE = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_LONG_NUMBER = re.compile(r"(?<!\w)[0-9][0-9A-Za-z_]{%d,}" % MAX_DIGITS)


class DocumentError(ValueError):
    """What is wrong with the text, where (line, 1-based; None for the whole file) and the fix."""

    def __init__(self, line: int | None, message: str, path: str = "") -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line
        self.message = message
        self.path = path            # the key or list item at fault ("questions[1].text"), "" for the text itself


@dataclass(frozen=True)
class Document:
    body: Any
    lines: dict[str, int] = field(default_factory=dict)     # "questions[0].text" -> line

    def line_of(self, path: str) -> int | None:
        """The line of `path`, else of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None


def read_text(path: Path, max_bytes: int, what: str) -> str:
    """The UTF-8 text of a file people write, refused before reading when it is not a file or too large.
    Raises OSError (the caller says it cannot be read) or DocumentError."""
    info = path.stat()
    if not path.is_file():
        raise DocumentError(None, f"is not a file. Fix: give the path of a {what}.")
    if info.st_size > max_bytes:
        raise DocumentError(None, f"is {info.st_size} bytes; a {what} is at most {max_bytes}. "
                                  f"Fix: check that this is the right file.")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(raw[:exc.start].count(b"\n") + 1,
                            "is not UTF-8 text. Fix: save the file as UTF-8.") from None


def parse(text: str, fmt: str, max_bytes: int) -> Document:
    """Parse TOML (fmt "toml") or JSON (fmt "json") text; raise DocumentError for anything out of bounds."""
    if fmt not in ("toml", "json"):
        raise ValueError(f"unknown document format {fmt!r}; use 'toml' or 'json'")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise DocumentError(None, f"is {size} bytes; at most {max_bytes}. Fix: check that this is the right file.")
    nul = text.find("\x00")
    if nul >= 0:
        raise DocumentError(_line_at(text, nul), "contains a NUL byte (a damaged or binary file). "
                                                 "Fix: remove it, or write the file again as plain text.")
    _check_structure(text, fmt)
    if fmt == "toml":
        try:
            body = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"at line (\d+)", str(exc))
            raise DocumentError(int(found.group(1)) if found else None,
                                f"not valid TOML ({exc}). Fix: correct the syntax at that line.") from None
        document = Document(body, _toml_lines(text))
    else:
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DocumentError(exc.lineno, f"not valid JSON ({exc.msg}). Fix: correct the syntax at that line.") \
                from None
        document = Document(body, _json_lines(text))
    _check_values(document)
    return document


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


class _LineIndex:
    """Line of a position in O(log n): a large document has many keys."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, pos: int) -> int:
        return bisect.bisect_right(self._starts, pos)


def _blank(match: re.Match) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _check_structure(text: str, fmt: str) -> None:
    """Nesting depth and long numbers, on the text with its strings and comments blanked out."""
    skeleton = (_TOML_OPAQUE if fmt == "toml" else _JSON_OPAQUE).sub(_blank, text)
    depth = 0
    for pos, char in enumerate(skeleton):
        if char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise DocumentError(_line_at(text, pos), f"tables or lists nested more than {MAX_NESTING} deep. "
                                                         f"Fix: remove the extra brackets.")
        elif char in "]}":
            depth -= 1
    number = _LONG_NUMBER.search(skeleton)
    if number:
        raise DocumentError(_line_at(text, number.start()), f"a number with more than {MAX_DIGITS} digits. "
                                                            f"Fix: write a sensible value there.")


def _check_values(document: Document) -> None:
    """Walk the parsed body (iteratively: dotted keys can nest deeper than any bracket)."""
    stack: list[tuple[str, Any, int]] = [("", document.body, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > MAX_NESTING:
            # The key written is longer than `path`: its line is under a name that starts with it.
            line = next((n for written, n in document.lines.items() if written.startswith(path)), None)
            raise DocumentError(line, f"keys nested more than {MAX_NESTING} deep ({path[:60]}...). "
                                      f"Fix: use at most {MAX_NESTING} parts in a dotted key.")
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise DocumentError(document.line_of(path), "a key contains a NUL character. Fix: remove it.")
                stack.append((f"{path}.{key}" if path else key, item, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item, depth + 1) for index, item in enumerate(value))
        elif isinstance(value, str) and "\x00" in value:
            raise DocumentError(document.line_of(path), f"'{path}' contains a NUL character (U+0000). "
                                                        f"Fix: remove it.", path)
        elif isinstance(value, int) and not isinstance(value, bool) and not -INT_LIMIT <= value < INT_LIMIT:
            raise DocumentError(document.line_of(path), f"'{path}' is a number too large to use. "
                                                        f"Fix: write a sensible value there.", path)


# ---- where each key is written: path -> line number ---------------------------------------------------------------

def _toml_lines(text: str) -> dict[str, int]:
    """Line of each table header and key in simple TOML (headers, [[arrays]], key = value). Best effort: a key that
    cannot be placed gets the line of its nearest placed parent (Document.line_of)."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    prefix = ""
    in_multiline: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if not line or line.startswith("#"):
            continue
        header = re.match(r"^\[\[\s*([^\]]+?)\s*\]\]", line)
        if header:
            name = header.group(1).replace('"', "").replace(" ", "")
            index = counts.get(name, 0)
            counts[name] = index + 1
            prefix = f"{name}[{index}]"
            lines.setdefault(name, number)
            lines[prefix] = number
            continue
        header = re.match(r"^\[\s*([^\]]+?)\s*\]", line)
        if header:
            prefix = header.group(1).replace('"', "").replace(" ", "")
            lines[prefix] = number
            continue
        key = re.match(r'^("[^"]*"|[A-Za-z0-9_.-]+)\s*=', line)
        if key:
            name = key.group(1).strip('"')
            lines[f"{prefix}.{name}" if prefix else name] = number
            rest = line[key.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


def _json_lines(text: str) -> dict[str, int]:
    """Line of each key and array element of a JSON document json.loads has accepted (and _check_structure bounded,
    so the recursion here stays shallow)."""
    lines: dict[str, int] = {}
    line_at = _LineIndex(text)
    decoder = json.JSONDecoder()
    ws = re.compile(r"[ \t\n\r]*")

    def value(pos: int, path: str) -> int:
        pos = ws.match(text, pos).end()
        if path:
            lines.setdefault(path, line_at(pos))
        char = text[pos]
        if char == "{":
            pos = ws.match(text, pos + 1).end()
            if text[pos] == "}":
                return pos + 1
            while True:
                pos = ws.match(text, pos).end()
                key, end = json.decoder.scanstring(text, pos + 1)
                lines[f"{path}.{key}" if path else key] = line_at(pos)
                pos = ws.match(text, end).end() + 1          # past ':'
                pos = value(pos, f"{path}.{key}" if path else key)
                pos = ws.match(text, pos).end()
                if text[pos] == "}":
                    return pos + 1
                pos += 1                                      # ','
        if char == "[":
            pos = ws.match(text, pos + 1).end()
            if text[pos] == "]":
                return pos + 1
            index = 0
            while True:
                pos = value(pos, f"{path}[{index}]")
                index += 1
                pos = ws.match(text, pos).end()
                if text[pos] == "]":
                    return pos + 1
                pos += 1
        _, end = decoder.raw_decode(text, pos)
        return end

    value(0, "")
    return lines
