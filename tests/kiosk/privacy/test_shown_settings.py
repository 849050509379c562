"""Secrets and credentials never shown: `config show` redacts by option, not by searching the text; URLs lose their
user:password wherever they are shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TOKEN = 'tok-"quoted"\\back\\slash'


def test_config_show_redacts_a_token_with_quotes_and_backslashes_and_url_credentials(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text('[sync]\nserver_url = "https://kiosk7:pa55word@centre.example.org/files/"\n'
                      'token = "tok-\\"quoted\\"\\\\back\\\\slash"\n')
    for extra in ([], ["--json"]):
        shown = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(tmp_path / "data"), "--config",
                                str(config), "config", "show", *extra], capture_output=True, text=True, timeout=60,
                               cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert shown.returncode == 0, shown.stderr
        for secret in ("tok-", "quoted", "back\\", "slash", "pa55word", "kiosk7:"):
            assert secret not in shown.stdout, (secret, shown.stdout)
        assert "centre.example.org/files/" in shown.stdout
    values = json.loads(shown.stdout)
    assert values["sync.token"] == "***" and values["sync.server_url"] == "https://centre.example.org/files/"


def test_the_env_token_is_redacted_too_and_an_empty_one_stays_empty(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIOSK_SYNC_TOKEN": TOKEN}
    base = [sys.executable, "-m", "kiosk", "--data-dir", str(tmp_path / "data"), "--config", str(tmp_path / "none.toml"),
            "config", "show", "--json"]
    shown = subprocess.run(base, capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert json.loads(shown.stdout)["sync.token"] == "***" and "quoted" not in shown.stdout
    env.pop("KIOSK_SYNC_TOKEN")
    shown = subprocess.run(base, capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert json.loads(shown.stdout)["sync.token"] == ""
