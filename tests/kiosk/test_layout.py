"""The design card: kiosk/ runs headless and never imports Qt."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import kiosk

ROOT = Path(__file__).resolve().parents[2]


def _kiosk_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(kiosk.__path__, "kiosk.")
                  if m.name != "kiosk.__main__")


def test_no_module_of_kiosk_imports_qt():
    modules = _kiosk_modules()
    assert "kiosk.cli" in modules and "kiosk.capture.demo" in modules
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'shiboken')))\n"
            "print(','.join(qt))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"Qt was imported by kiosk/: {result.stdout}"


def test_no_qt_in_kiosk_sources():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "kiosk").rglob("*.py")
                 if any(word in p.read_text(encoding="utf-8") for word in ("import PySide6", "from PySide6"))]
    assert offenders == []
