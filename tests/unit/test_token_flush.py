"""flush_expired_tokens on a real backlog: bounded batches, each its own transaction, refreshes going on; on
SQLite, PostgreSQL, and MySQL/MariaDB (`DATABASE_URL=mysql://...`).

The backlog is what broke the single-transaction flush (issue 26): 200,000 expired tokens chained by
`rotated_from`, 10 to a session, some chains' heads still live. Seeded with one INSERT ... SELECT each.
"""

import threading
import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from core.models import User
from tokens import services
from tokens.models import RefreshToken, Session

SESSIONS = 20_000
CHAIN = 10  # expired tokens per session
LIVE_HEADS = 1_000  # sessions whose chain ends in a live token, chained to the expired ones

pytestmark = pytest.mark.django_db(transaction=True)


def _numbers(count: int) -> str:
    """SQL for the rows i = 0 .. count - 1. The seed's SQL holds only this module's numbers (noqa: S608)."""
    if connection.vendor == "postgresql":
        return f"SELECT generate_series(0, {count - 1}) AS i"
    return f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {count - 1}) SELECT i FROM n"  # noqa: S608 (numbers only)


def _uuid(expression: str, kind: int) -> str:
    """SQL for the UUID numbered by `expression` (kind keeps sessions' and tokens' apart), as the column stores
    it; `%` doubled, for a query with parameters."""
    if connection.vendor == "postgresql":
        return f"(lpad(to_hex({kind}), 8, '0') || lpad(to_hex({expression}), 24, '0'))::uuid"
    if connection.vendor == "mysql":
        return f"lower(concat(lpad(hex({kind}), 8, '0'), lpad(hex({expression}), 24, '0')))"
    return f"printf('%%08x%%024x', {kind}, {expression})"


def _div(dividend: str, divisor: int) -> str:
    return f"{dividend} DIV {divisor}" if connection.vendor == "mysql" else f"{dividend} / {divisor}"


def seed_expired_chains(user: User, *, now: datetime) -> None:
    session, token = 1, 2
    moment = connection.ops.adapt_datetimefield_value
    long_ago, expired, later = moment(now - timedelta(days=20)), moment(now - timedelta(days=1)), moment(now)
    live = moment(now + timedelta(days=10))
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The seed is not what is measured: on a busy machine its 200,000 rows may take longer.
            cursor.execute("SET LOCAL statement_timeout = 0")
        if connection.vendor == "mysql":
            # The seed's numbers are a recursive CTE, which MySQL and MariaDB stop at 1,000 rows by default.
            limit = "max_recursive_iterations" if connection.mysql_is_mariadb else "cte_max_recursion_depth"
            cursor.execute(f"SET SESSION {limit} = {SESSIONS * CHAIN}")
        cursor.execute(
            "INSERT INTO tokens_session (id, user_id, created_at, expires_at, end_reason, user_agent,"  # noqa: S608
            " auth_time, amr, acr)"
            f" SELECT {_uuid('i', session)}, %s, %s, %s, '', 'seeded', %s, %s, 'aal1'"
            f" FROM ({_numbers(SESSIONS)}) AS numbers",
            [user.pk, long_ago, live, long_ago, Session._meta.get_field("amr").get_db_prep_value([], connection)],
        )
        # Token i belongs to session i / CHAIN and was rotated from token i - 1 of the same session.
        cursor.execute(
            "INSERT INTO tokens_refreshtoken (jti, session_id, issued_at, expires_at, rotated_from_id)"  # noqa: S608
            f" SELECT {_uuid('i', token)}, {_uuid(_div('i', CHAIN), session)}, %s, %s,"
            f" CASE WHEN i %% {CHAIN} = 0 THEN NULL ELSE {_uuid('i - 1', token)} END"
            f" FROM ({_numbers(SESSIONS * CHAIN)}) AS numbers",
            [long_ago, expired],
        )
        # The first LIVE_HEADS sessions go on: a live token rotated from their last expired one.
        cursor.execute(
            "INSERT INTO tokens_refreshtoken (jti, session_id, issued_at, expires_at, rotated_from_id)"  # noqa: S608
            f" SELECT {_uuid(f'{SESSIONS * CHAIN} + i', token)}, {_uuid('i', session)}, %s, %s,"
            f" {_uuid(f'i * {CHAIN} + {CHAIN - 1}', token)} FROM ({_numbers(LIVE_HEADS)}) AS numbers",
            [later, live],
        )


class Refresher(threading.Thread):
    """Refreshes one live session's chain, one rotation after another, until told to stop."""

    def __init__(self, refresh: str) -> None:
        super().__init__()
        self.refresh, self.rotations = refresh, 0
        self.errors: list[Exception] = []
        self.stop = threading.Event()

    def rotate(self) -> None:
        try:
            self.refresh = services.token_pair_refresh(refresh=self.refresh).refresh
            self.rotations += 1
        except Exception as error:  # any failure is the test's finding
            self.errors.append(error)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.rotate()
        finally:
            connections.close_all()


def test_flush_deletes_200000_chained_expired_tokens_while_refreshes_go_on(user) -> None:
    if connection.vendor == "postgresql":
        # The configuration that broke it: parameters bound on the server, 5 s statement timeout.
        assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
    now = timezone.now()
    seed_expired_chains(user, now=now)
    refresher = Refresher(services.session_start(user=user).refresh)

    if connection.vendor == "postgresql":
        # Concurrent writers: the refreshes run in a thread of their own while the flush works.
        refresher.start()
        try:
            deleted = services.tokens_flush_expired(now=now)
        finally:
            refresher.stop.set()
            refresher.join()
    else:
        # SQLite has one writer: a refresh gets its turn between two batches, never waiting out the flush.
        deleted = (0, 0)
        for batch in services.refresh_tokens_flush_batches(now=now):
            deleted = (deleted[0] + batch.sessions, deleted[1] + batch.tokens)
            refresher.rotate()

    assert deleted == (SESSIONS - LIVE_HEADS, SESSIONS * CHAIN)
    assert refresher.errors == []
    assert refresher.rotations > 0
    assert not RefreshToken.objects.filter(expires_at__lt=now).exists()
    # The live heads stay, their link to the deleted predecessor cleared; so do their sessions.
    heads = RefreshToken.objects.filter(session__user_agent="seeded")
    assert heads.count() == LIVE_HEADS
    assert not heads.filter(rotated_from__isnull=False).exists()
    assert Session.objects.filter(user_agent="seeded").count() == LIVE_HEADS
    # The refreshed session's chain is whole: its first token and every rotation since.
    assert RefreshToken.objects.exclude(session__user_agent="seeded").count() == refresher.rotations + 1


def test_a_flush_batch_is_one_short_transaction_of_five_queries(user, django_assert_num_queries) -> None:
    gone = services.session_start(user=user)
    services.token_pair_refresh(refresh=gone.refresh)
    live = services.session_start(user=user)
    later = timezone.now() + timedelta(days=15)
    RefreshToken.objects.filter(session__id=_session_id(live.access)).update(expires_at=later + timedelta(days=1))
    # BEGIN, the batch's ids, the successors' UPDATE, the tokens' DELETE, the emptied sessions' DELETE, COMMIT:
    # parameters in proportion to the batch, never to the backlog.
    with django_assert_num_queries(6):
        batch = next(services.refresh_tokens_flush_batches(now=later, batch_size=10))
    assert (batch.sessions, batch.tokens) == (1, 2)
    assert list(Session.objects.values_list("id", flat=True)) == [_session_id(live.access)]


def test_flush_goes_on_batch_after_batch_until_nothing_has_expired(user) -> None:
    for _ in range(3):
        pair = services.session_start(user=user)
        services.token_pair_refresh(refresh=pair.refresh)
    # 6 tokens in batches of 4: a full batch, then a short one that ends the run.
    assert services.tokens_flush_expired(now=timezone.now() + timedelta(days=15), batch_size=4) == (3, 6)
    assert not Session.objects.exists()


def _session_id(access: str) -> uuid.UUID:
    return services.access_token_authenticate(token=access).session_id
