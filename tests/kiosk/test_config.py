import pytest

from kiosk import config as configmod
from kiosk.cli import main

pytestmark = pytest.mark.pure     # no outside part: no PulseAudio is started for these alone


def test_every_option_has_help_and_a_valid_default():
    for option in configmod.OPTIONS:
        assert option.help.strip(), option.name
        assert "." in option.name
        # the default must pass its own validation
        configmod.Config().set(option.name, option.default)


def test_unknown_key_names_file_key_and_fix(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text("[camera]\nfsp = 30\n")
    with pytest.raises(configmod.ConfigError) as err:
        configmod.load(path)
    message = str(err.value)
    assert str(path) in message and "camera.fsp" in message and "Fix:" in message


def test_wrong_type_and_range_are_refused(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text("[camera]\nfps = 'thirty'\n")
    with pytest.raises(configmod.ConfigError, match="camera.fps.*whole number"):
        configmod.load(path)
    path.write_text("[camera]\nfps = 0\n")
    with pytest.raises(configmod.ConfigError, match="below"):
        configmod.load(path)
    path.write_text("[camera]\nsize = '1280*720'\n")
    with pytest.raises(configmod.ConfigError, match="WIDTHxHEIGHT"):
        configmod.load(path)


def test_round_trip_of_show_output(tmp_path):
    config = configmod.Config()
    config.set("camera.fps", 25)
    config.set("sync.server_url", 'http://x/"quoted"')
    again = configmod.parse(config.to_toml(), "round-trip")
    assert again.values == config.values


def test_environment_override(monkeypatch, tmp_path):
    monkeypatch.setenv("KIOSK_CAMERA_FPS", "15")
    assert configmod.load(tmp_path / "missing.toml")["camera.fps"] == 15
    monkeypatch.setenv("KIOSK_CAMERA_FPS", "fast")
    with pytest.raises(configmod.ConfigError, match="KIOSK_CAMERA_FPS"):
        configmod.load(tmp_path / "missing.toml")


def test_cli_config_check(tmp_path, capsys, data_dir):
    good = tmp_path / "good.toml"
    good.write_text("[recording]\nprofile = 'webm-vp8-opus'\n")
    assert main(["--data-dir", str(data_dir), "config", "check", str(good)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[recording]\nprofile = 'avi'\n")
    assert main(["--data-dir", str(data_dir), "config", "check", str(bad)]) == 1
    assert "recording.profile" in capsys.readouterr().err


def test_cli_config_show_hides_token(monkeypatch, capsys, data_dir):
    monkeypatch.setenv("KIOSK_SYNC_TOKEN", "s3cret-token")
    assert main(["--data-dir", str(data_dir), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "s3cret-token" not in out and "camera" in out
