"""The database: one owner (database.py), the tables (models.py), ordered migrations (migrations.py).

    from kiosk.db import open_database, get_setting, set_setting
"""

from kiosk.db.database import (DatabaseCorrupt, DatabaseError, DatabaseTooNew, close_database, db, open_database,
                               transaction)
from kiosk.db.models import get_setting, set_setting

__all__ = ["DatabaseCorrupt", "DatabaseError", "DatabaseTooNew", "close_database", "db", "open_database",
           "transaction", "get_setting", "set_setting"]
