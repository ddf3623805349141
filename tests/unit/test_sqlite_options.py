"""The SQLite options config/settings.py sets, as a server's connection to a database file sees them."""

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's options; this run uses another database"
)


def test_a_sqlite_file_runs_in_wal_with_synchronous_normal_and_immediate_transactions(tmp_path, db):
    # The test database lives in memory, where WAL does not apply: open a file as a server would.
    wrapper = DatabaseWrapper({**connection.settings_dict, "NAME": str(tmp_path / "db.sqlite3")}, alias="file")
    try:
        with wrapper.cursor() as cursor:
            assert cursor.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert cursor.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        assert wrapper.transaction_mode == "IMMEDIATE"
    finally:
        wrapper.close()
