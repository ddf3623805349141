"""Django's SQLite backend under the database bulkhead (core/bulkhead.py).

SQLite has no server to hang, but a writer waits up to its busy timeout for the write lock,
and the embedded default should behave as production does.
"""

from django.db.backends.sqlite3 import base

from core.bulkhead import BulkheadDatabaseWrapper


class DatabaseWrapper(BulkheadDatabaseWrapper, base.DatabaseWrapper):
    pass
