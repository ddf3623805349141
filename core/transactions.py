"""Transactions that lost to a concurrent one: run once more, then an outage (503).

Two writers that take the same rows in opposite orders deadlock, and the database ends one of
them; a writer that waits past the lock timeout gives up. Neither is the client's fault nor
the database being down: the same transaction, run again a moment later, almost always
succeeds. So a service whose transaction may meet a concurrent one is wrapped in
`retry_on_conflict`: a conflict is retried once, and a second one propagates as the
OperationalError it is, which core.outages answers 503 with Retry-After.

What counts as a conflict, per database:
- PostgreSQL (psycopg's SQLSTATE): serialization_failure 40001, deadlock_detected 40P01,
  lock_not_available 55P03 (lock_timeout);
- MySQL and MariaDB (mysqlclient's error code): 1213 deadlock, 1205 lock wait timeout.
Data errors are not retried: core.mysql raises them as DataError, a bug answered 500.

A transaction that met a read-only server (PostgreSQL's read_only_sql_transaction 25006: the
connection was kept from before a failover, to a primary since demoted) is retried once too,
on a new connection: libpq's target_session_attrs=read-write then connects to the new primary
(core/postgresql/base.py, docs/operations.md "High availability").
"""

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, transaction

from core.outages import first_line

logger = logging.getLogger(__name__)

CONFLICT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
CONFLICT_MYSQL_CODES = frozenset({1205, 1213})
READ_ONLY_SQLSTATE = "25006"

P = ParamSpec("P")
R = TypeVar("R")


def is_transaction_conflict(exc: BaseException) -> bool:
    """Whether a database error says the transaction lost to a concurrent one (see the module docstring)."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__  # the driver's exception, kept by Django's error wrapper
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in CONFLICT_SQLSTATES
    code = cause.args[0] if cause is not None and cause.args else None
    return code in CONFLICT_MYSQL_CODES


def is_read_only_server(exc: BaseException) -> bool:
    """Whether a database error says the server is not (or no longer) the primary."""
    return isinstance(exc, OperationalError) and getattr(exc.__cause__, "sqlstate", None) == READ_ONLY_SQLSTATE


def retry_on_conflict(func: Callable[P, R]) -> Callable[P, R]:
    """Runs `func` again, once, when its transaction lost to a concurrent one or met a read-only server.

    Only at the outermost level: inside a transaction the conflict has already undone more
    than `func` did (MySQL rolls the whole transaction back on a deadlock), so whoever opened
    that transaction is the one to run it again. `func` must do all its writing in the
    transaction it opens, or in statements of its own, so that running it twice does once.
    """

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if transaction.get_connection().in_atomic_block:
            return func(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        except OperationalError as exc:
            if is_read_only_server(exc):
                # The rerun's first query opens a new connection, to whichever server is the primary now.
                transaction.get_connection().close()
                logger.warning("%s met a read-only server (%s); running it again", func.__qualname__, first_line(exc))
            elif is_transaction_conflict(exc):
                logger.warning(
                    "%s lost to a concurrent transaction (%s); running it again", func.__qualname__, first_line(exc)
                )
            else:
                raise
        return func(*args, **kwargs)

    return run
