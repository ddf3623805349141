"""Django's PostgreSQL backend under the database bulkhead (core/bulkhead.py), whose health
check asks the socket before it asks the server.

With CONN_HEALTH_CHECKS on, Django checks a kept connection before each request's first
query, so that one the server dropped (a restart, pg_terminate_backend, idle_session_timeout)
is replaced instead of failing the request. Its check is a `SELECT 1`: a round trip on every
request that touches the database, a third of a refresh's database time (docs/benchmarks.md).

Between queries PostgreSQL sends nothing on its own, except when it drops the connection:
then it writes a FATAL error and closes the socket. So a connection that libpq still calls
good, outside any transaction, whose socket has nothing to read, is usable without asking. If
anything has arrived, or the state is anything else, Django's round trip decides as before.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq

from core.bulkhead import BulkheadDatabaseWrapper


class DatabaseWrapper(BulkheadDatabaseWrapper, base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None:
            return False
        pgconn = connection.pgconn
        if pgconn.status == pq.ConnStatus.OK and pgconn.transaction_status == pq.TransactionStatus.IDLE:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN)
            if not poller.poll(0):
                return True
        return super().is_usable()
