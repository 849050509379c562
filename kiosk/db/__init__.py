"""The database: one owner (database.py), the tables (models.py), ordered migrations (migrations.py)."""
