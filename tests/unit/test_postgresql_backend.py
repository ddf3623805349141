"""core.postgresql: the health check asks the socket, and the server only when the socket has news;
a server that refuses writes as read-only (a demoted primary) is an outage, and its connection is left.

libpq's trace (every protocol message the connection sends or receives) shows whether a
check made a round trip; the stock check's trace is the control.
"""

import select
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.base import DatabaseWrapper as DjangoDatabaseWrapper

from core.models import User
from core.postgresql.base import DatabaseWrapper
from core.transactions import retry_on_conflict

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's backend; this run has another"),
    pytest.mark.django_db(transaction=True),
]

# A bound on waiting for the server's goodbye, so that a bug fails the test instead of hanging it.
GOODBYE_WAIT_MS = 30_000


@pytest.fixture
def kept() -> Iterator[DatabaseWrapper]:
    """A connection of its own, open and idle in autocommit, as a worker thread keeps one between requests."""
    wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
    assert isinstance(wrapper, DatabaseWrapper)
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def traced(wrapper: DatabaseWrapper, check, tmp_path: Path) -> tuple[bool, str]:
    """(what the check answered, the protocol messages it exchanged)."""
    trace = tmp_path / "libpq.trace"
    pgconn = wrapper.connection.pgconn
    with trace.open("w") as sink:
        pgconn.trace(sink.fileno())
        try:
            usable = check(wrapper)
        finally:
            pgconn.untrace()
    return usable, trace.read_text()


def test_the_settings_choose_this_backend():
    assert isinstance(connections[DEFAULT_DB_ALIAS], DatabaseWrapper)


def test_a_kept_idle_connection_is_usable_without_a_round_trip(kept, tmp_path):
    assert traced(kept, DatabaseWrapper.is_usable, tmp_path) == (True, "")
    # The control: Django's own check of the same connection talks to the server.
    usable, messages = traced(kept, DjangoDatabaseWrapper.is_usable, tmp_path)
    assert usable
    assert "SELECT 1" in messages


def test_a_connection_inside_a_transaction_is_asked_with_a_round_trip(kept, tmp_path):
    kept.set_autocommit(False)
    kept.connection.execute("SELECT 1")  # the transaction begins
    usable, messages = traced(kept, DatabaseWrapper.is_usable, tmp_path)
    assert usable
    assert "SELECT 1" in messages
    kept.rollback()


def test_a_connection_the_server_dropped_is_not_usable(kept):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [kept.connection.info.backend_pid])
    # The server writes its FATAL goodbye and closes: the socket becomes readable.
    poller = select.poll()
    poller.register(kept.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(GOODBYE_WAIT_MS)
    assert not kept.is_usable()


def test_no_connection_is_not_usable(kept):
    kept.close()
    assert not kept.is_usable()


def read_only(wrapper: BaseDatabaseWrapper) -> None:
    """The connection's server refuses writes from now on, as a primary demoted to a standby does."""
    with wrapper.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")


def test_a_write_refused_as_read_only_is_an_outage_and_the_connection_is_not_kept(kept):
    read_only(kept)
    with pytest.raises(OperationalError) as refused, kept.cursor() as cursor:
        cursor.execute("CREATE TABLE read_only_probe (id integer)")
    assert refused.value.__cause__.sqlstate == "25006"  # not an InternalError: core.outages answers it 503
    assert not kept.is_usable()
    kept.close()
    kept.connect()
    assert kept.is_usable()


def test_a_transaction_that_met_a_read_only_server_runs_again_on_a_new_connection(caplog):
    connection.ensure_connection()
    read_only(connection)
    used: list[object] = []

    @retry_on_conflict
    def user_create() -> User:
        used.append(connection.connection)
        return User.objects.create_user(email="read-only@example.com")

    user = user_create()
    assert len(used) == 2
    assert used[0] is not used[1]
    assert User.objects.filter(pk=user.pk).exists()
    assert "met a read-only server" in caplog.text
