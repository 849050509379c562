"""Entry script of the PyInstaller bundle (outside the package, so the package's own folder does not shadow it)."""

from kiosk.cli import main

raise SystemExit(main())
