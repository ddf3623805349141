"""Concurrent refreshes of one token: the database lets exactly one successor through.

With JWT_REFRESH_REUSE_INTERVAL on, every loser gets the winner's refresh token (a client
racing itself keeps its session); with it off, or once it has passed, the losers are reuse.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import User
from tests.forge import claims_of
from tokens import services
from tokens.errors import TokenError
from tokens.models import RefreshToken, Session

THREADS = 8

pytestmark = [
    pytest.mark.concurrent_db,
    pytest.mark.django_db(transaction=True),
]


def refresh_all_at_once(refresh: str) -> tuple[list[object], list[int]]:
    """Every thread presents `refresh` at the same instant: a pair or an error each, and each one's query count."""
    barrier = threading.Barrier(THREADS)

    def attempt(_):
        queries = CaptureQueriesContext(connections["default"])
        try:
            barrier.wait()
            with queries:
                return services.token_pair_refresh(refresh=refresh), len(queries)
        except TokenError as error:
            return error, len(queries)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes, query_counts = zip(*pool.map(attempt, range(THREADS)), strict=True)
    return list(outcomes), list(query_counts)


@pytest.mark.parametrize("trial", range(20))
def test_with_the_interval_on_every_loser_gets_the_winners_refresh_token(trial, settings):
    settings.JWT_REFRESH_REUSE_INTERVAL = 10
    user = User.objects.create_user(email=f"race{trial}@example.com")
    pair = services.session_start(user=user)

    outcomes, query_counts = refresh_all_at_once(pair.refresh)

    assert all(isinstance(o, services.TokenPair) for o in outcomes), outcomes
    assert len({o.refresh for o in outcomes}) == 1
    assert RefreshToken.objects.filter(rotated_from__isnull=False).count() == 1
    assert Session.objects.get(user=user).ended_at is None
    assert max(query_counts) <= 4, query_counts
    services.token_pair_refresh(refresh=outcomes[0].refresh)


@pytest.mark.parametrize("trial", range(20))
def test_with_the_interval_off_exactly_one_of_eight_concurrent_refreshes_wins(trial, settings):
    settings.JWT_REFRESH_REUSE_INTERVAL = 0
    user = User.objects.create_user(email=f"race{trial}@example.com")
    pair = services.session_start(user=user)

    outcomes, query_counts = refresh_all_at_once(pair.refresh)

    assert max(query_counts) <= 4, query_counts
    winners = [o for o in outcomes if isinstance(o, services.TokenPair)]
    losers = [o for o in outcomes if isinstance(o, TokenError)]
    assert len(winners) == 1, outcomes
    assert len(losers) == THREADS - 1
    # A loser that reads after another loser ended the session sees it ended.
    assert "token_reused" in {loser.code for loser in losers}
    assert {loser.code for loser in losers} <= {"token_reused", "token_revoked"}
    # One successor in the database; the losers' presentations were reuse, so the
    # session ended and the winner's new refresh token is dead too.
    assert RefreshToken.objects.filter(rotated_from__isnull=False).count() == 1
    assert Session.objects.get(user=user).end_reason == "reuse"
    with pytest.raises(TokenError) as after:
        services.token_pair_refresh(refresh=winners[0].refresh)
    assert after.value.code == "token_revoked"


@pytest.mark.parametrize("trial", range(5))
def test_after_the_interval_every_concurrent_presentation_of_a_rotated_token_ends_the_session(trial, settings):
    settings.JWT_REFRESH_REUSE_INTERVAL = 10
    user = User.objects.create_user(email=f"late{trial}@example.com")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        pair = services.session_start(user=user)
        winner = services.token_pair_refresh(refresh=pair.refresh)

    with time_machine.travel(start + timedelta(seconds=11), tick=False):
        outcomes, query_counts = refresh_all_at_once(pair.refresh)

    # Those that read after the first ended the session see it ended.
    codes = {getattr(o, "code", None) for o in outcomes}
    assert "token_reused" in codes
    assert codes <= {"token_reused", "token_revoked"}, outcomes
    assert max(query_counts) <= 4, query_counts
    assert RefreshToken.objects.filter(rotated_from__isnull=False).count() == 1
    assert Session.objects.get(user=user).end_reason == "reuse"
    with pytest.raises(TokenError):
        services.token_pair_refresh(refresh=winner.refresh)


def _blocked_on_a_lock() -> bool:
    """Whether some other connection waits for a row lock (a unique key held by an open transaction)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        return cursor.fetchone()[0] > 0


@pytest.mark.skipif(
    connections["default"].vendor != "postgresql",
    reason="watches the retry wait for the lock in pg_stat_activity; on MariaDB the wait was not seen there and the "
    "retry ran into the statement timeout first (a 503), which tests/faults covers",
)
def test_a_retry_sent_while_the_rotation_stalls_past_the_interval_is_forgiven(settings):
    """The first request's insert commits long after it began (a stalled database); the client's retry, sent
    meanwhile, read the token unused and raced it: it gets the successor, and the session lives."""
    settings.JWT_REFRESH_REUSE_INTERVAL = 10
    user = User.objects.create_user(email="stalled@example.com")
    pair = services.session_start(user=user)
    token = RefreshToken.objects.get()
    inserted, release = threading.Event(), threading.Event()

    def stalled_rotation() -> None:
        # The winner's row, begun a minute ago and not yet committed.
        try:
            with transaction.atomic():
                RefreshToken.objects.create(
                    jti=uuid.uuid4(),
                    session=token.session,
                    issued_at=timezone.now() - timedelta(seconds=60),
                    expires_at=token.expires_at,
                    rotated_from=token,
                )
                inserted.set()
                release.wait()
        finally:
            connections.close_all()

    def retry() -> object:
        try:
            return services.token_pair_refresh(refresh=pair.refresh)
        except TokenError as error:
            return error
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        winner = pool.submit(stalled_rotation)
        inserted.wait()
        retried = pool.submit(retry)
        # The retry's own insert waits for the winner's commit; a bounded wait, so that a retry that did not
        # block fails the assertions below instead of hanging the run.
        for _ in range(3000):
            if retried.done() or _blocked_on_a_lock():
                break
            threading.Event().wait(0.01)
        release.set()
        winner.result()
        outcome = retried.result()

    assert isinstance(outcome, services.TokenPair), outcome
    successor = RefreshToken.objects.get(rotated_from=token)
    assert uuid.UUID(claims_of(outcome.refresh)["jti"]) == successor.jti
    assert Session.objects.get(user=user).ended_at is None
