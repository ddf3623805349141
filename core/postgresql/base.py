"""Django's PostgreSQL backend under the database bulkhead (core/bulkhead.py), whose health
check asks the socket before it asks the server, and which leaves a server that is no longer
the primary.

With CONN_HEALTH_CHECKS on, Django checks a kept connection before each request's first
query, so that one the server dropped (a restart, pg_terminate_backend, idle_session_timeout)
is replaced instead of failing the request. Its check is a `SELECT 1`: a round trip on every
request that touches the database, a third of a refresh's database time (docs/benchmarks.md).

Between queries PostgreSQL sends nothing on its own, except when it drops the connection:
then it writes a FATAL error and closes the socket. So a connection that libpq still calls
good, outside any transaction, whose socket has nothing to read, is usable without asking. If
anything has arrived, or the state is anything else, Django's round trip decides as before.

A primary demoted to a standby (or a proxy that still routes to it) answers a write with
read_only_sql_transaction (SQLSTATE 25006), which psycopg raises as an InternalError: a 500,
and a `SELECT 1` health check would keep the connection. Here it is an OperationalError (an
outage: core.transactions runs the transaction once more, core.outages answers 503) and the
connection is unusable, so the next one is opened anew, where libpq's
target_session_attrs=read-write finds the new primary (docs/operations.md, "High availability").
"""

import select
from types import TracebackType

from django.db import OperationalError
from django.db.backends.postgresql import base
from django.db.utils import DatabaseErrorWrapper
from django.utils.functional import cached_property
from psycopg import errors, pq

from core.bulkhead import BulkheadDatabaseWrapper


class ErrorWrapper(DatabaseErrorWrapper):
    wrapper: "DatabaseWrapper"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if isinstance(exc_value, errors.ReadOnlySqlTransaction):
            self.wrapper.errors_occurred = True
            self.wrapper.on_read_only_server = True
            raise OperationalError(*exc_value.args).with_traceback(traceback) from exc_value
        super().__exit__(exc_type, exc_value, traceback)


class DatabaseWrapper(BulkheadDatabaseWrapper, base.DatabaseWrapper):
    # Set when the server refused a write as read-only: this connection is never used again.
    on_read_only_server = False

    @cached_property
    def wrap_database_errors(self) -> ErrorWrapper:
        return ErrorWrapper(self)

    def connect(self) -> None:
        self.on_read_only_server = False
        super().connect()

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or self.on_read_only_server:
            return False
        pgconn = connection.pgconn
        if pgconn.status == pq.ConnStatus.OK and pgconn.transaction_status == pq.TransactionStatus.IDLE:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN)
            if not poller.poll(0):
                return True
        return super().is_usable()
