"""The engine with the real tiny.en model: settings, errors that name the setting, the language rule, doctor."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kiosk import config as configmod
from kiosk.cli import main
from kiosk.transcripts import engine
from tests.harness.speech import ANSWERS, MAX_WER, normalise, render, word_error_rate


def test_transcript_options_are_declared_and_checked():
    config = configmod.Config()
    assert (config["transcript.enabled"], config["transcript.engine"], config["transcript.model_path"]) == \
        (True, "whisper", "")
    with pytest.raises(configmod.ConfigError, match="transcript.engine.*use one of whisper"):
        configmod.parse('[transcript]\nengine = "vosk"\n', "kiosk.toml")


@pytest.mark.parametrize("model_path, kind, says", [
    ("", engine.TranscriptsOff, "set transcript.model_path"),
    ("/no/such/model", engine.ModelProblem, "transcript.model_path = '/no/such/model' is not a folder"),
])
def test_a_missing_model_names_the_setting_and_the_fix(model_path, kind, says):
    with pytest.raises(kind) as err:
        engine.open_transcriber("whisper", model_path)
    assert says in str(err.value) and "Fix:" in str(err.value)


def test_an_incomplete_or_wrong_model_folder_is_refused_naming_the_setting(tmp_path, tiny_model):
    with pytest.raises(engine.ModelProblem, match=r"not a complete model: model\.bin, config\.json, tokenizer"):
        engine.open_transcriber("whisper", str(tmp_path))
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes(b"not a model")
    with pytest.raises(engine.ModelProblem, match="transcript.model_path.*not a Whisper model.*Fix:"):
        engine.open_transcriber("whisper", str(tmp_path))


def test_an_english_only_model_asked_for_german_says_so(tiny_model):
    transcriber = engine.open_transcriber("whisper", tiny_model)
    assert "English only" in transcriber.describe()
    with pytest.raises(engine.LanguageUnsupported, match="'de'.*English only.*Fix: copy a multilingual"):
        transcriber.transcribe(np.zeros(16000, np.float32), "de")
    transcriber.check_language("en")
    transcriber.check_language("")


def test_the_language_is_the_templates_else_the_ui_language():
    assert engine.interview_language("de", "fr") == "de"
    assert engine.interview_language("", "fr_FR.UTF-8") == "fr"
    assert engine.interview_language("", "") == ""


def test_silence_gives_no_words_and_speech_gives_its_words(tiny_model, tmp_path):
    transcriber = engine.open_transcriber("whisper", tiny_model)
    assert transcriber.transcribe(np.zeros(16000 * 4, np.float32), "en") == []
    wav = render(ANSWERS[3], tmp_path / "a.wav", "flite:slt")
    words = transcriber.transcribe(engine.decode_audio(wav), "en")
    assert word_error_rate(ANSWERS[3], " ".join(w.text for w in words)) <= MAX_WER
    assert all(0 <= w.start <= w.end for w in words)
    # a slice from the middle: words of that part only, times relative to the slice
    part = transcriber.transcribe(engine.decode_audio(wav, 2.0, 4.0), "en")
    middle = {normalise(w.text) for w in words if 2.2 < (w.start + w.end) / 2 < 3.8}
    assert middle and middle <= {normalise(w.text) for w in part} | {""}
    assert all(w.end <= 2.05 for w in part)


def test_doctor_shows_the_model_or_says_how_to_turn_transcripts_on(tmp_path, capsys, data_dir, tiny_model):
    config = tmp_path / "kiosk.toml"

    def transcripts_check(text: str) -> dict:
        config.write_text('[camera]\nspec = "demo"\n[mic]\nspec = "demo"\n' + text)
        main(["--data-dir", str(data_dir), "--config", str(config), "doctor", "--json"])
        report = json.loads(capsys.readouterr().out)
        return {c["name"]: c for c in report["checks"]}["transcripts"]

    off = transcripts_check("")
    assert off["status"] == "warn" and "transcript.model_path" in off["fix"] and not off["blocks"]
    wrong = transcripts_check('[transcript]\nmodel_path = "/no/such/model"\n')
    assert wrong["status"] == "fail" and "transcript.model_path" in wrong["detail"] and wrong["fix"]
    ok = transcripts_check(f'[transcript]\nmodel_path = "{tiny_model}"\n')
    assert ok["status"] == "ok" and "English only" in ok["detail"]
