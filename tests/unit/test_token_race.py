"""Concurrent refreshes of one token: the database lets exactly one through."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from core.models import User
from tokens import services
from tokens.errors import TokenError
from tokens.models import RefreshToken, Session

THREADS = 8

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL for real concurrent writers: set DATABASE_URL=postgresql://... (CI does)",
    ),
]


def refresh_all_at_once(refresh: str) -> list[object]:
    """Every thread presents `refresh` at the same instant; returns a pair or an error each."""
    barrier = threading.Barrier(THREADS)

    def attempt(_):
        try:
            barrier.wait()
            return services.token_pair_refresh(refresh=refresh)
        except TokenError as error:
            return error
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(attempt, range(THREADS)))


@pytest.mark.parametrize("trial", range(20))
def test_exactly_one_of_eight_concurrent_refreshes_wins(trial):
    user = User.objects.create_user(email=f"race{trial}@example.com")
    pair = services.session_start(user=user)

    outcomes = refresh_all_at_once(pair.refresh)

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
