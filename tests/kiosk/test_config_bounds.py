"""A malformed kiosk.toml is a ConfigError naming the file, the line and the fix: never a traceback (issue 11, item 6).

Each case goes through config.load (what the app and every command call) and `kiosk config check` as a process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import config
from kiosk.bounded_parse import MAX_DIGITS, MAX_NESTING

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

CASES = {
    # name: (file content, line named, words the message must hold)
    "syntax": (b'[camera]\nspec = "0\n', 2, "not valid TOML"),
    "unknown key": (b'[camera]\nfps = 30\nspce = "0"\n', 3, "unknown setting 'camera.spce'"),
    "wrong type": (b'\n[camera]\nfps = "thirty"\n', 3, "'camera.fps' must be a whole number"),
    "out of range": (b'[camera]\nfps = 500\n', 2, "is above 120"),
    "nested lists": (b"x = " + b"[" * 1000 + b"]" * 1000 + b"\n", 1, f"nested more than {MAX_NESTING} deep"),
    "nested tables": (b"[camera]\nspec = " + b"{a = " * 1000 + b"1" + b"}" * 1000, 2, "nested more than"),
    "dotted keys": (b"# deep\n" + b"a" + b".a" * 100 + b" = 1\n", 2, f"nested more than {MAX_NESTING} deep"),
    "huge integer": (b"[camera]\nfps = " + b"9" * 5000 + b"\n", 2, f"more than {MAX_DIGITS} digits"),
    "huge hex integer": (b"[camera]\nfps = 0x" + b"f" * 5000 + b"\n", 2, f"more than {MAX_DIGITS} digits"),
    "integer beyond 64 bits": (b"[storage]\nretention_days = 0x" + b"f" * 20 + b"\n", 2, "too large"),
    "NUL byte": (b'[camera]\nspec = "a\x00"\n', 2, "NUL byte"),
    "NUL escape": (b'[camera]\nspec = "a\\u0000b"\n', 2, "NUL character"),
    "not a number": (b"[camera]\n\nopen_timeout_s = nan\n", 3, "must be a finite number"),
    "not UTF-8": (b'[camera]\nspec = "\xff\xfe"\n', 2, "not UTF-8"),
    "huge value in a message": (b'[camera]\nfps = "' + b"x" * 100_000 + b'"\n', 2, "must be a whole number"),
}


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_load_names_file_line_and_fix(tmp_path, case):
    content, line, words = CASES[case]
    path = write(tmp_path, content)
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line {line}: ") and words in message and "Fix:" in message
    assert len(message) < 400                        # a pasted value or a deep key is cut, not repeated


def test_too_large_a_file_is_refused_before_it_is_read(tmp_path):
    path = write(tmp_path, b"# comment\n" * (config.MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(config.ConfigError, match=rf"^{path}: is \d+ bytes; a kiosk.toml is at most "
                                                 rf"{config.MAX_FILE_BYTES}\. Fix:"):
        config.load(path)


def test_a_folder_is_not_a_config(tmp_path):
    folder = tmp_path / "kiosk.toml"
    folder.mkdir()
    with pytest.raises(config.ConfigError, match=r"is not a file\. Fix: give the path of a kiosk.toml"):
        config.load(folder)


def test_a_good_file_still_loads(tmp_path):
    path = write(tmp_path, b'camera.spec = "2"\n[recording]\nprofile = "audio-opus"\n[storage]\nspace_margin = 2\n')
    loaded = config.load(path)
    assert (loaded["camera.spec"], loaded["recording.profile"], loaded["storage.space_margin"]) == ("2", "audio-opus",
                                                                                                 2.0)


@pytest.mark.parametrize("case", ["nested lists", "huge integer", "NUL byte", "dotted keys"])
def test_config_check_prints_the_same_and_exits_1(tmp_path, data_dir, case):
    content, line, words = CASES[case]
    path = write(tmp_path, content)
    proc = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), "config", "check", str(path)],
                          env=ENV, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    assert proc.stderr.strip() == f"kiosk: {caught.value}"


TEMPLATE_HEAD = b'[template]\nname = "t"\nconsent_text = "c"\n[[questions]]\n'
TEMPLATE_CASES = {
    # name: (file name, content, line named, words)
    "toml nested lists": ("t.toml", TEMPLATE_HEAD + b"text = " + b"[" * 1000 + b"]" * 1000 + b"\n", 5,
                          "nested more than"),
    "toml huge integer": ("t.toml", TEMPLATE_HEAD + b'text = "q"\nanswer_s = ' + b"9" * 5000 + b"\n", 6,
                          f"more than {MAX_DIGITS} digits"),
    "toml NUL byte": ("t.toml", TEMPLATE_HEAD + b'text = "q\x00"\n', 5, "NUL byte"),
    "json nested lists": ("t.json", b'{"template": {"name": "t", "consent_text": "c"},\n "questions": '
                          + b"[" * 1000 + b"]" * 1000 + b"}", 2, "nested more than"),
    "json huge integer": ("t.json", b'{"template": {"name": "t", "consent_text": "c"},\n "questions": [{"text": "q",\n'
                          b' "answer_s": ' + b"9" * 5000 + b"}]}", 3, f"more than {MAX_DIGITS} digits"),
    "json syntax": ("t.json", b'{"template": {"name": "t",\n "consent_text": "c"}}}', 2, "not valid JSON"),
}


@pytest.mark.parametrize("case", TEMPLATE_CASES, ids=list(TEMPLATE_CASES))
def test_template_import_names_file_line_and_fix(tmp_path, data_dir, case):
    from kiosk.sessions import templates
    name, content, line, words = TEMPLATE_CASES[case]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(templates.TemplateError) as caught:
        templates.load(path)
    assert caught.value.problems[0].line == line and words in str(caught.value) and "Fix:" in str(caught.value)
    proc = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), "templates", "import",
                           str(path)], env=ENV, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr + proc.stdout
    assert f"{path}:{line}:" in proc.stderr + proc.stdout and words in proc.stderr + proc.stdout
