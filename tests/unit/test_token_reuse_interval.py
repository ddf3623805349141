"""JWT_REFRESH_REUSE_INTERVAL: a just-rotated token presented again, every branch, with time-machine."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.forge import claims_of
from tokens import services
from tokens.errors import TokenReused, TokenRevoked
from tokens.models import RefreshToken, Session

INTERVAL = 10


@pytest.fixture(autouse=True)
def _interval(settings):
    settings.JWT_REFRESH_REUSE_INTERVAL = INTERVAL


@pytest.fixture
def start():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def later(traveller, seconds: float) -> None:
    traveller.shift(timedelta(seconds=seconds))


def test_within_the_interval_the_parent_gets_a_fresh_access_token_and_the_current_refresh_token(start, user):
    pair = services.session_start(user=user)
    later(start, 1)
    winner = services.token_pair_refresh(refresh=pair.refresh)
    later(start, INTERVAL - 1)

    again = services.token_pair_refresh(refresh=pair.refresh)

    assert again.refresh == winner.refresh  # the very token the winner holds: no second successor
    assert claims_of(again.access)["jti"] != claims_of(winner.access)["jti"]
    assert again.refresh_expires_in == winner.refresh_expires_in - (INTERVAL - 1)
    assert RefreshToken.objects.count() == 2
    assert Session.objects.get().ended_at is None
    services.access_token_authenticate(token=again.access)
    # The current token rotates as usual afterwards.
    assert services.token_pair_refresh(refresh=again.refresh).refresh != winner.refresh


def test_at_exactly_the_interval_the_parent_is_still_forgiven(start, pair):
    winner = services.token_pair_refresh(refresh=pair.refresh)
    later(start, INTERVAL)

    assert services.token_pair_refresh(refresh=pair.refresh).refresh == winner.refresh


def test_after_the_interval_the_parent_is_reuse_and_ends_the_session(start, pair):
    winner = services.token_pair_refresh(refresh=pair.refresh)
    later(start, INTERVAL + 1)

    with pytest.raises(TokenReused):
        services.token_pair_refresh(refresh=pair.refresh)
    with pytest.raises(TokenRevoked):
        services.token_pair_refresh(refresh=winner.refresh)


def test_the_parent_of_a_successor_that_was_rotated_in_turn_is_reuse(start, pair):
    child = services.token_pair_refresh(refresh=pair.refresh)
    services.token_pair_refresh(refresh=child.refresh)
    later(start, 1)

    with pytest.raises(TokenReused):
        services.token_pair_refresh(refresh=pair.refresh)
    assert Session.objects.get().end_reason == "reuse"


def test_an_older_generation_is_reuse_even_within_the_interval(start, pair):
    child = services.token_pair_refresh(refresh=pair.refresh)
    grandchild = services.token_pair_refresh(refresh=child.refresh)
    services.token_pair_refresh(refresh=grandchild.refresh)

    with pytest.raises(TokenReused):
        services.token_pair_refresh(refresh=pair.refresh)


def test_with_the_interval_off_the_parent_is_reuse_at_once(start, pair, settings):
    settings.JWT_REFRESH_REUSE_INTERVAL = 0
    services.token_pair_refresh(refresh=pair.refresh)

    with pytest.raises(TokenReused):
        services.token_pair_refresh(refresh=pair.refresh)


def test_an_ended_session_is_not_revived_within_the_interval(start, pair):
    winner = services.token_pair_refresh(refresh=pair.refresh)
    services.session_end_by_refresh(refresh=winner.refresh)

    with pytest.raises(TokenRevoked):
        services.token_pair_refresh(refresh=pair.refresh)


def test_every_branch_takes_at_most_four_queries(start, pair, settings, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        services.token_pair_refresh(refresh=pair.refresh)  # rotation
    with django_assert_max_num_queries(4):
        services.token_pair_refresh(refresh=pair.refresh)  # forgiven within the interval
    later(start, INTERVAL + 1)
    with django_assert_max_num_queries(4), pytest.raises(TokenReused):
        services.token_pair_refresh(refresh=pair.refresh)  # reuse
