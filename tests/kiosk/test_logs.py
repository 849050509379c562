import logging

from kiosk import logs


def test_log_lines_carry_the_interview_and_rotate(tmp_path):
    try:
        logs.setup(tmp_path, level="INFO", max_mb=1, backups=2, console=False)
        log = logging.getLogger("kiosk.test")
        token = logs.current_interview.set("0b7e-uuid")
        log.info("question shown")
        logs.current_interview.reset(token)
        log.info("idle")
        for _ in range(5000):   # ~2.8 MB: two rotations of 1 MB
            log.info("x" * 500)
        all_text = "\n".join(p.read_text() for p in tmp_path.glob("kiosk.log*"))
        assert "[0b7e-uuid] question shown" in all_text
        assert "[-] idle" in all_text
        assert sorted(p.name for p in tmp_path.glob("kiosk.log*")) == ["kiosk.log", "kiosk.log.1", "kiosk.log.2"]
        assert (tmp_path / "kiosk.log").stat().st_size < 1024 * 1024
    finally:
        logs.setup(None, console=False)
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_kiosk", False):
                logging.getLogger().removeHandler(handler)
