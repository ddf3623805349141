"""Django's MySQL backend (MySQL 8.0+, MariaDB 10.6+) under the database bulkhead (core/bulkhead.py),
with a statement time limit and errors named by kind.

The statement limit: PostgreSQL bounds every statement with `statement_timeout`; the MySQL
family has one too, under two names. MariaDB's `max_statement_time` (seconds) covers every
statement; MySQL's `max_execution_time` (milliseconds) covers SELECTs only, the rest being
bounded by `innodb_lock_wait_timeout` and the driver's read timeout. Which one a connection
sets depends on the server it reached, so the backend chooses, from the `statement_timeout`
option (milliseconds, as PostgreSQL's), which is not the driver's.

The errors: mysqlclient raises OperationalError for anything it has no better class for, and
Django answers OperationalError as an outage (core.outages: 503 "the database cannot be
reached"). A string the column's character set cannot hold (1366), a date it cannot parse,
an illegal mix of collations are not outages: they are bugs, or a schema to fix, and no
retry helps. They are raised as DataError, as PostgreSQL's driver raises them, and so
answered 500 and logged with their traceback (core.problems), as Django already does for
the codes it reclassifies as IntegrityError.
"""

from typing import Any

import MySQLdb
from django.db import DataError
from django.db.backends.mysql import base
from django.utils.asyncio import async_unsafe

from core.bulkhead import BulkheadDatabaseWrapper

# Error codes of the MySQL family that are about the data or the schema, not the server's health.
CODES_FOR_DATAERROR = frozenset(
    {
        1267,  # Illegal mix of collations (two operands)
        1270,  # Illegal mix of collations (three operands)
        1271,  # Illegal mix of collations (for an operation)
        1292,  # Incorrect DATE/DATETIME/... value
        1300,  # Invalid character string for the character set
        1365,  # Division by 0
        1366,  # Incorrect string value for a column (e.g. Hangul in a latin1 column)
        1367,  # Illegal value found during parsing
        1411,  # Incorrect value for a function
    }
)


def _raise_if_data_error(exc: MySQLdb.OperationalError) -> None:
    if exc.args and exc.args[0] in CODES_FOR_DATAERROR:
        raise DataError(*exc.args) from exc


class CursorWrapper(base.CursorWrapper):
    def execute(self, query: str, args: Any = None) -> Any:
        try:
            return super().execute(query, args)
        except MySQLdb.OperationalError as exc:
            _raise_if_data_error(exc)
            raise

    def executemany(self, query: str, args: Any) -> Any:
        try:
            return super().executemany(query, args)
        except MySQLdb.OperationalError as exc:
            _raise_if_data_error(exc)
            raise


class DatabaseWrapper(BulkheadDatabaseWrapper, base.DatabaseWrapper):
    statement_timeout_ms: int | None = None

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        self.statement_timeout_ms = params.pop("statement_timeout", None)
        return params

    def init_connection_state(self) -> None:
        super().init_connection_state()
        if self.statement_timeout_ms:
            # The server's version string, known since the handshake: no query to tell them apart.
            if "mariadb" in self.connection.get_server_info().lower():
                assignment = f"SET SESSION max_statement_time = {self.statement_timeout_ms / 1000:.3f}"
            else:
                assignment = f"SET SESSION max_execution_time = {int(self.statement_timeout_ms)}"
            with self.cursor() as cursor:
                cursor.execute(assignment)

    @async_unsafe
    def create_cursor(self, name: str | None = None) -> CursorWrapper:
        return CursorWrapper(self.connection.cursor())
