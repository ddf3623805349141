"""Django's SQLite backend under the database bulkhead (base.py)."""
