"""A fresh migrated database in a temp dir, closed after the test (import the fixture where it is needed)."""

from __future__ import annotations

import pytest

from kiosk.db.database import close_database, open_database
from kiosk.paths import DataDir


@pytest.fixture
def data(tmp_path) -> DataDir:
    return DataDir(tmp_path / "data").ensure()


@pytest.fixture
def database(data):
    db = open_database(data.database)
    yield db
    close_database()
