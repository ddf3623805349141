"""tokens.services called directly: rotation, reuse, session ends, the denylist, flushing."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.models import User
from tests.forge import claims_of
from tokens import services
from tokens.errors import NotAuthenticated, SessionNotFound, TokenExpired, TokenInvalid, TokenReused, TokenRevoked
from tokens.models import RefreshToken, Session, SessionEndReason


def extra_claims_hook(user):
    return {"email": user.email, "sub": "not-allowed-to-override"}


def test_session_start_records_the_device_and_one_refresh_token(user):
    pair = services.session_start(user=user, user_agent="Firefox", ip="10.0.0.1")
    session = Session.objects.get()
    assert (session.user, session.user_agent, session.ip) == (user, "Firefox", "10.0.0.1")
    assert claims_of(pair.access)["sid"] == str(session.id)
    assert RefreshToken.objects.get().jti.hex == claims_of(pair.refresh)["jti"]
    assert (pair.token_type, pair.expires_in, pair.refresh_expires_in) == ("Bearer", 900, 14 * 24 * 3600)


def test_refresh_links_a_successor_which_marks_the_token_used(pair):
    new_pair = services.token_pair_refresh(refresh=pair.refresh)
    old = RefreshToken.objects.get(jti=claims_of(pair.refresh)["jti"])
    new = RefreshToken.objects.get(jti=claims_of(new_pair.refresh)["jti"])
    assert new.rotated_from == old
    assert old.replaced_by == new
    assert old.is_used
    assert not new.is_used
    assert claims_of(new_pair.access)["sid"] == claims_of(pair.access)["sid"]


def test_refresh_inside_a_transaction_adds_only_a_savepoint_around_the_insert(pair, django_assert_num_queries):
    # SELECT, SAVEPOINT, INSERT, RELEASE: the savepoint keeps an outer transaction
    # (a test's, ATOMIC_REQUESTS) usable when the insert loses a race.
    with django_assert_num_queries(4):
        services.token_pair_refresh(refresh=pair.refresh)


@pytest.mark.django_db(transaction=True)
def test_refresh_takes_two_queries_in_autocommit(django_assert_num_queries):
    # One SELECT (token, session, user, successor) and the INSERT of the successor.
    user = User.objects.create_user(email="q@example.com")
    pair = services.session_start(user=user)
    with django_assert_num_queries(2):
        services.token_pair_refresh(refresh=pair.refresh)


def test_with_the_interval_off_a_rotated_token_presented_again_ends_the_whole_session(pair, settings):
    settings.JWT_REFRESH_REUSE_INTERVAL = 0
    newer = services.token_pair_refresh(refresh=pair.refresh)
    with pytest.raises(TokenReused):
        services.token_pair_refresh(refresh=pair.refresh)
    session = Session.objects.get()
    assert session.ended_at is not None
    assert session.end_reason == SessionEndReason.REUSE
    # The legitimate holder's newer token dies with the session.
    with pytest.raises(TokenRevoked):
        services.token_pair_refresh(refresh=newer.refresh)
    with pytest.raises(TokenRevoked):
        services.access_token_authenticate(token=newer.access)


def test_reuse_in_one_session_leaves_the_users_other_sessions_alone(user, pair, settings):
    settings.JWT_REFRESH_REUSE_INTERVAL = 0
    other = services.session_start(user=user)
    services.token_pair_refresh(refresh=pair.refresh)
    with pytest.raises(TokenReused):
        services.token_pair_refresh(refresh=pair.refresh)
    assert services.token_pair_refresh(refresh=other.refresh).access


def test_refresh_token_with_unknown_jti_is_invalid(pair):
    RefreshToken.objects.all().delete()
    with pytest.raises(TokenInvalid, match="unknown"):
        services.token_pair_refresh(refresh=pair.refresh)


def test_access_token_cannot_refresh(pair):
    with pytest.raises(TokenInvalid):
        services.token_pair_refresh(refresh=pair.access)


def test_refresh_of_a_disabled_user_is_refused(user, pair):
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(TokenRevoked):
        services.token_pair_refresh(refresh=pair.refresh)


def test_the_absolute_session_lifetime_holds_however_often_it_refreshes(user, settings):
    settings.JWT_SESSION_MAX_AGE = 3 * 24 * 3600
    settings.JWT_REFRESH_TTL = 2 * 24 * 3600
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        pair = services.session_start(user=user)
    # Refresh every day: each new refresh token is capped at the session's end.
    for day in (1, 2):
        with time_machine.travel(start + timedelta(days=day), tick=False):
            pair = services.token_pair_refresh(refresh=pair.refresh)
    assert pair.refresh_expires_in == 24 * 3600
    session = Session.objects.with_activity().get()
    assert session.refresh_expires_at == session.expires_at == start + timedelta(days=3)
    with time_machine.travel(start + timedelta(days=3, seconds=31), tick=False), pytest.raises(TokenExpired):
        services.token_pair_refresh(refresh=pair.refresh)


def test_refresh_token_expires_when_idle(pair):
    idle = timezone.now() + timedelta(days=14, seconds=31)
    with time_machine.travel(idle, tick=False), pytest.raises(TokenExpired):
        services.token_pair_refresh(refresh=pair.refresh)


def test_extra_claims_hook_adds_claims_but_cannot_override_registered_ones(user, settings):
    settings.JWT_EXTRA_CLAIMS = "tests.unit.test_token_services.extra_claims_hook"
    claims = claims_of(services.session_start(user=user).access)
    assert claims["email"] == "ada@example.com"
    assert claims["sub"] == str(user.pk)


def test_access_token_authenticate_builds_a_principal_without_the_database(pair, user, django_assert_num_queries):
    with django_assert_num_queries(0):
        principal = services.access_token_authenticate(token=pair.access)
    assert principal.user_id == user.pk
    assert str(principal.session_id) == claims_of(pair.access)["sid"]
    assert int(principal.expires_at.timestamp()) == claims_of(pair.access)["exp"]


def test_a_token_seen_again_gets_the_principal_built_the_first_time_whose_claims_nobody_can_change(pair):
    first = services.access_token_authenticate(token=pair.access)
    assert services.access_token_authenticate(token=pair.access) is first
    with pytest.raises(TypeError):
        first.claims["sub"] = "2"  # type: ignore[index]
    # What leaves the process is a copy.
    assert services.token_verify(token=pair.access) == dict(first.claims)


def test_empty_token_is_not_authenticated():
    with pytest.raises(NotAuthenticated):
        services.access_token_authenticate(token="")


def test_ended_session_refuses_its_access_tokens_with_the_denylist_on(pair):
    services.session_end(session_id=claims_of(pair.access)["sid"])
    with pytest.raises(TokenRevoked):
        services.access_token_authenticate(token=pair.access)


def test_with_the_denylist_off_access_tokens_live_until_exp(pair, settings):
    settings.JWT_SESSION_DENYLIST = False
    services.session_end(session_id=claims_of(pair.access)["sid"])
    assert services.access_token_authenticate(token=pair.access).user_id
    with pytest.raises(TokenRevoked):
        services.token_pair_refresh(refresh=pair.refresh)


def test_denylist_entries_expire_with_the_last_access_token(pair):
    services.session_end(session_id=claims_of(pair.access)["sid"])
    # Past access TTL + leeway the entry is gone, and so is every access token it guarded.
    with time_machine.travel(timezone.now() + timedelta(seconds=900 + 31), tick=False), pytest.raises(TokenExpired):
        services.access_token_authenticate(token=pair.access)


def test_session_end_scoped_to_a_user_does_not_reach_another_users_session(pair, db):
    stranger = User.objects.create_user(email="eve@example.com")
    with pytest.raises(SessionNotFound):
        services.session_end(session_id=claims_of(pair.access)["sid"], user_id=stranger.pk)
    assert Session.objects.get().ended_at is None


def test_logout_with_a_refresh_token_ends_its_session(pair):
    services.session_end_by_refresh(refresh=pair.refresh)
    assert Session.objects.get().end_reason == SessionEndReason.LOGOUT
    with pytest.raises(TokenRevoked):
        services.token_pair_refresh(refresh=pair.refresh)


def test_logout_all_ends_every_session_of_the_user_only(user, pair):
    services.session_start(user=user)
    stranger_pair = services.session_start(user=User.objects.create_user(email="eve@example.com"))
    assert services.session_end_all(user_id=user.pk) == 2
    assert services.session_end_all(user_id=user.pk) == 0
    with pytest.raises(TokenRevoked):
        services.access_token_authenticate(token=pair.access)
    assert services.access_token_authenticate(token=stranger_pair.access)


def test_verify_checks_refresh_tokens_against_the_database(pair):
    assert services.token_verify(token=pair.refresh)["token_type"] == "refresh"
    services.token_pair_refresh(refresh=pair.refresh)
    with pytest.raises(TokenReused):
        services.token_verify(token=pair.refresh)


def test_flush_deletes_only_what_has_expired(user, pair):
    fresh = services.session_start(user=user)
    services.token_pair_refresh(refresh=fresh.refresh)
    assert services.tokens_flush_expired() == (0, 0)
    # Past every expiry: both sessions and their three tokens go.
    assert services.tokens_flush_expired(now=timezone.now() + timedelta(days=15)) == (2, 3)
    assert not RefreshToken.objects.exists()


def test_verify_refuses_a_refresh_token_that_refresh_would_refuse(user, pair):
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(TokenRevoked):
        services.token_verify(token=pair.refresh)


def test_verify_refuses_a_refresh_token_past_the_sessions_absolute_end(user, settings):
    # The token's exp is capped at the session's end; within the leeway after it, only
    # the session check can refuse the token, as refresh does.
    settings.JWT_SESSION_MAX_AGE = 3600
    pair = services.session_start(user=user)
    with time_machine.travel(timezone.now() + timedelta(seconds=3610), tick=False):
        with pytest.raises(TokenExpired, match="maximum age"):
            services.token_verify(token=pair.refresh)
        with pytest.raises(TokenExpired, match="maximum age"):
            services.token_pair_refresh(refresh=pair.refresh)
