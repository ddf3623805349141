"""A cache that refuses connections (a Redis port where nothing listens), endpoint by endpoint.

The database side, and pauses and restarts of real servers, are in tests/faults.
"""

import logging
import time
import uuid

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from core import outages
from social.services import social_login_begin
from tests.conftest import bearer, cache_unreachable
from tests.forge import claims_of
from tokens import denylist
from tokens.services import session_end, session_start


def assert_unavailable(response, dependency: str) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert (body["code"], body["dependency"]) == ("service_unavailable", dependency)


def test_whoami_fails_closed_with_a_503_when_the_denylist_cannot_be_read(client, pair, cache_down):
    assert_unavailable(client.get("/auth/whoami", headers=bearer(pair.access)), "cache")


def test_verify_of_an_access_token_fails_closed_with_a_503(client, pair, cache_down):
    assert_unavailable(client.post("/auth/token/verify", json={"token": pair.access}), "cache")


def test_whoami_answers_from_the_token_with_the_denylist_off_and_the_cache_down(client, pair, settings, cache_down):
    settings.JWT_SESSION_DENYLIST = False
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200


def test_refresh_works_with_the_cache_down_because_its_throttle_fails_open(client, pair, cache_down):
    response = client.post("/auth/token/refresh", json={"refresh": pair.refresh})
    assert response.status_code == 200
    assert response.json()["refresh"] != pair.refresh


def test_with_the_cache_down_each_process_keeps_counting_so_an_outage_lifts_no_limit(client, db, settings, cache_down):
    """Code emails to one address stay limited while Redis is down (the operator got 53 in a 15 s outage)."""
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "email_code_email": "3/15min", "password": ""}
    address = f"{uuid.uuid4().hex}@example.com"
    with time_machine.travel(timezone.now().replace(second=0, microsecond=0), tick=False):
        statuses = [client.post("/auth/email/code", json={"email": address}).status_code for _ in range(5)]
    assert statuses == [202, 202, 202, 429, 429]


def test_with_the_cache_down_wrong_passwords_still_count_against_the_address(client, db, settings, cache_down):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "sign_in_email": "3/15min", "password": ""}
    body = {"email": f"{uuid.uuid4().hex}@example.com", "password": "not the password"}
    with time_machine.travel(timezone.now().replace(second=0, microsecond=0), tick=False):
        statuses = [client.post("/auth/token", json=body).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


def test_a_throttle_failing_open_is_logged_once_per_window_not_per_request(
    client, pair, caplog, monkeypatch, cache_down
):
    monkeypatch.setattr(outages, "outage_log", outages.OutageLog(outages.LOG_WINDOW_SECONDS))
    refresh = pair.refresh
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            response = client.post("/auth/token/refresh", json={"refresh": refresh})
            assert response.status_code == 200
            refresh = response.json()["refresh"]
    reports = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [record.name for record in reports] == ["core.outages"]
    assert "throttle 'tokens', counted by this process alone" in reports[0].getMessage()


def test_authorize_answers_503_when_the_pending_login_cannot_be_stored(client, social, db, cache_down):
    response = client.post("/auth/social/kakao/authorize", json={"redirect_uri": social.SOCIAL_REDIRECT_URIS[0]})
    assert_unavailable(response, "cache")


def test_callback_answers_503_when_the_pending_login_cannot_be_read(client, social, db):
    start = social_login_begin(provider="kakao", redirect_uri=social.SOCIAL_REDIRECT_URIS[0])
    with cache_unreachable():
        response = client.post("/auth/social/kakao/callback", json={"code": "a-code", "state": start.state})
    assert_unavailable(response, "cache")


def test_logout_with_the_cache_down_ends_the_session_and_the_token_stays_revoked_after(client, pair):
    with cache_unreachable():
        # The database is written first: the session has ended even though the answer is 503.
        assert_unavailable(client.post("/auth/logout", headers=bearer(pair.access)), "cache")
        assert client.post("/auth/token/refresh", json={"refresh": pair.refresh}).json()["code"] == "token_revoked"
    # The cache is back without the entry the logout could not write: this process rebuilds first.
    assert client.get("/auth/whoami", headers=bearer(pair.access)).json()["code"] == "token_revoked"


def test_a_flushed_cache_is_rebuilt_from_the_database_so_logged_out_tokens_stay_revoked(
    client, pair, user, django_assert_num_queries
):
    assert client.post("/auth/logout", headers=bearer(pair.access)).status_code == 204
    cache.clear()  # as FLUSHALL or a restart without persistence would

    with django_assert_num_queries(1):  # the rebuild: one query over recently ended sessions
        assert client.get("/auth/whoami", headers=bearer(pair.access)).json()["code"] == "token_revoked"
    with django_assert_num_queries(0):
        assert client.get("/auth/whoami", headers=bearer(pair.access)).json()["code"] == "token_revoked"


def test_a_cache_flushed_again_within_the_rebuild_interval_asks_the_database_for_one_session_not_a_rebuild(
    client, pair, user, django_assert_num_queries
):
    live = session_start(user=user)
    assert client.post("/auth/logout", headers=bearer(pair.access)).status_code == 204
    cache.clear()
    assert client.get("/auth/whoami", headers=bearer(pair.access)).json()["code"] == "token_revoked"
    assert denylist._Rebuilds.count == 1
    cache.clear()  # lost again, within REBUILD_INTERVAL of the rebuild

    with django_assert_num_queries(1):  # that session's row alone
        assert client.get("/auth/whoami", headers=bearer(pair.access)).json()["code"] == "token_revoked"
    with django_assert_num_queries(1):
        assert client.get("/auth/whoami", headers=bearer(live.access)).status_code == 200
    assert denylist._Rebuilds.count == 1


def test_checks_that_find_the_marker_missing_at_once_share_one_rebuild(pair, user):
    """Each check looked before the rebuild began: all of them take its answer."""
    ended = session_start(user=user)
    session_id = uuid.UUID(claims_of(ended.access)["sid"])
    session_end(session_id=session_id)
    cache.clear()
    looked_at = time.monotonic()  # every check below read the cache before this rebuild began
    answers = [denylist._rebuilt_since(looked_at) for _ in range(20)]
    assert denylist._Rebuilds.count == 1
    assert None not in answers
    assert all(str(session_id) in answer for answer in answers)


@pytest.fixture
def small_local_memory_cache(settings):
    """The embedded backend (core.cache.LocMemCache), empty and full at 10 entries."""
    settings.CACHES = {"default": {"BACKEND": "core.cache.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 10}}}
    cache.clear()


def test_a_full_local_memory_cache_never_forgets_an_ended_session(client, pair, small_local_memory_cache):
    denylist.denylist_mark_complete()
    assert client.post("/auth/logout", headers=bearer(pair.access)).status_code == 204
    for index in range(30):  # other users' requests: throttle counters, pending sign-ins, bearer checks
        cache.set(f"other-{index}", index, timeout=60)
        assert denylist.is_session_denied(uuid.uuid4()) is False
    assert client.get("/auth/whoami", headers=bearer(pair.access)).json()["code"] == "token_revoked"


def test_a_full_local_memory_cache_drops_expired_entries_before_live_ones(small_local_memory_cache):
    cache.set("live", 1, timeout=60)
    with time_machine.travel(timezone.now()) as clock:
        cache.set_many({f"short-{index}": index for index in range(9)}, timeout=1)
        clock.shift(2)
        cache.set("new", 1, timeout=60)  # full: the nine expired entries go, nothing else
    assert cache.get_many(["live", "new"]) == {"live": 1, "new": 1}


def test_a_local_memory_cache_full_of_live_entries_starts_over(small_local_memory_cache):
    with time_machine.travel(timezone.now()) as clock:
        cache.set_many({f"short-{index}": index for index in range(2)}, timeout=1)
        cache.set_many({f"live-{index}": index for index in range(8)}, timeout=60)
        clock.shift(2)
        cache.set("new", 1, timeout=60)  # dropping the two expired entries frees less than a third
    assert cache.get_many([*(f"live-{index}" for index in range(8)), "new"]) == {"new": 1}


def test_the_rebuild_leaves_live_sessions_alone(client, pair, user):
    other = client.post("/auth/token/refresh", json={"refresh": pair.refresh}).json()
    cache.clear()
    assert client.get("/auth/whoami", headers=bearer(other["access"])).status_code == 200
    assert denylist.is_session_denied(claims_of(pair.access)["sid"]) is False


def test_an_outage_is_logged_once_per_window_without_a_traceback(client, pair, caplog, monkeypatch, cache_down):
    monkeypatch.setattr(outages, "outage_log", outages.OutageLog(outages.LOG_WINDOW_SECONDS))
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 503
    reports = [record for record in caplog.records if record.name == "core.outages"]
    assert len(reports) == 1
    assert "cache unavailable" in reports[0].getMessage()
    assert all(record.exc_info is None for record in caplog.records)
    assert pair.access not in caplog.text
