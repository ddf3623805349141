"""GET /api/auth/sessions in pages, and JWT_MAX_SESSIONS_PER_USER (docs/sessions.md#the-session-list)."""

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.utils import timezone

from core.models import User
from tests.api.test_token_api import assert_invalid_token, assert_problem
from tests.conftest import bearer
from tests.forge import claims_of
from tokens.models import Session, SessionEndReason
from tokens.services import TokenPair, session_start, token_pair_refresh


def sign_in_at(user: User, moment: datetime, **client_info: Any) -> TokenPair:
    with time_machine.travel(moment, tick=False):
        return session_start(user=user, **client_info)


@pytest.fixture
def five_sessions(user: User) -> list[TokenPair]:
    """Five sessions of `user`, signed in a minute apart: the newest last."""
    start = timezone.now() - timedelta(minutes=10)
    return [sign_in_at(user, start + timedelta(minutes=i), user_agent=f"device {i}") for i in range(5)]


def page_after(client, page: dict, access: str, *, limit: int) -> dict:
    query = {"limit": limit, "cursor": page["next"]}
    response = client.get("/auth/sessions", query_params=query, headers=bearer(access))
    assert response.status_code == 200, response.json()
    return response.json()


def sids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_pages_go_newest_first_and_the_last_one_has_no_next(client, five_sessions, django_assert_num_queries) -> None:
    access = five_sessions[1].access
    expected = [claims_of(pair.access)["sid"] for pair in reversed(five_sessions)]
    client.get("/auth/whoami", headers=bearer(access))  # the process reads its key set once

    with django_assert_num_queries(1):
        first = client.get("/auth/sessions?limit=2", headers=bearer(access)).json()
    with django_assert_num_queries(1):
        second = page_after(client, first, access, limit=2)
    last = page_after(client, second, access, limit=2)

    assert sids(first) + sids(second) + sids(last) == expected
    assert last["next"] is None
    # The current session is marked on whichever page it falls.
    assert [item["current"] for item in second["items"]] == [False, True]


def test_a_refresh_between_two_pages_moves_no_session_across_them(client, user, five_sessions) -> None:
    access = five_sessions[4].access
    first = client.get("/auth/sessions?limit=3", headers=bearer(access)).json()
    # The oldest session is used now: listed by sign-in time, it stays where it was.
    token_pair_refresh(refresh=five_sessions[0].refresh)
    second = page_after(client, first, access, limit=3)
    assert sids(first) + sids(second) == [claims_of(pair.access)["sid"] for pair in reversed(five_sessions)]


def test_the_default_page_is_50_and_limit_is_between_1_and_100(client, user) -> None:
    start = timezone.now() - timedelta(minutes=1)
    pairs = [sign_in_at(user, start + timedelta(seconds=i)) for i in range(51)]
    page = client.get("/auth/sessions", headers=bearer(pairs[0].access)).json()
    assert len(page["items"]) == 50
    assert page["next"] is not None
    for limit in (0, 101, "many"):
        response = client.get("/auth/sessions", query_params={"limit": limit}, headers=bearer(pairs[0].access))
        assert_problem(response, 422, "validation_error")


def test_a_tampered_cursor_is_a_400_problem(client, five_sessions) -> None:
    access = five_sessions[0].access
    cursor = client.get("/auth/sessions?limit=2", headers=bearer(access)).json()["next"]
    payload, signed_at, signature = cursor.split(":")
    # Another place in the list, under the old signature; a cursor cut short; one that is no cursor at all.
    user_id, created_at, _ = json.loads(signing.b64_decode(payload.encode()))
    moved = signing.b64_encode(json.dumps([user_id, created_at, "0" * 32]).encode()).decode()
    for forged in (f"{moved}:{signed_at}:{signature}", cursor[:-3], "not-a-cursor", ""):
        problem = assert_problem(
            client.get("/auth/sessions", query_params={"cursor": forged}, headers=bearer(access)), 400, "cursor_invalid"
        )
        assert problem["title"] == "The cursor is not valid"


def test_another_users_cursor_is_refused(client, user, five_sessions) -> None:
    eve = session_start(user=User.objects.create_user(email="eve@example.com"))
    session_start(user=User.objects.get(email="eve@example.com"))
    eves_cursor = client.get("/auth/sessions?limit=1", headers=bearer(eve.access)).json()["next"]
    adas = bearer(five_sessions[0].access)
    response = client.get("/auth/sessions", query_params={"cursor": eves_cursor}, headers=adas)
    assert_problem(response, 400, "cursor_invalid")


def test_a_sign_in_beyond_the_limit_ends_the_least_recently_used_session(client, user, settings, caplog) -> None:
    settings.JWT_MAX_SESSIONS_PER_USER = 3
    start = timezone.now() - timedelta(minutes=10)
    oldest, middle, newest = (sign_in_at(user, start + timedelta(minutes=i)) for i in range(3))
    # The oldest sign-in is used last: the middle one is now the least recently used.
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        oldest = token_pair_refresh(refresh=oldest.refresh)

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="auth.events"):
        fourth = session_start(user=user)

    evicted = claims_of(middle.access)["sid"]
    assert Session.objects.get(id=evicted).end_reason == SessionEndReason.SESSION_LIMIT
    assert Session.objects.filter(ended_at__isnull=True).count() == 3
    events = [json.loads(record.getMessage()) for record in caplog.records if record.name == "auth.events"]
    assert [(e["event"], e["outcome"], e["session_id"]) for e in events] == [
        ("session_evicted", "session_limit", evicted)
    ]
    assert_invalid_token(client.get("/auth/whoami", headers=bearer(middle.access)), "token_revoked")
    assert_invalid_token(client.post("/auth/token/refresh", json={"refresh": middle.refresh}), "token_revoked")
    listed = client.get("/auth/sessions", headers=bearer(fourth.access)).json()
    assert set(sids(listed)) == {claims_of(pair.access)["sid"] for pair in (fourth, newest, oldest)}


def test_under_the_limit_a_sign_in_costs_one_count_more(user, settings, django_assert_num_queries) -> None:
    settings.JWT_MAX_SESSIONS_PER_USER = 2
    session_start(user=user)
    # BEGIN, the session, its first token, COMMIT; then the COUNT of the user's unended sessions.
    with django_assert_num_queries(5):
        session_start(user=user)
    assert not Session.objects.filter(end_reason=SessionEndReason.SESSION_LIMIT).exists()


def test_sessions_of_other_users_and_ended_ones_do_not_count(user, settings) -> None:
    settings.JWT_MAX_SESSIONS_PER_USER = 2
    eve = User.objects.create_user(email="eve@example.com")
    for _ in range(3):
        session_start(user=eve)
    Session.objects.filter(user=eve).update(ended_at=timezone.now(), end_reason=SessionEndReason.LOGOUT)
    session_start(user=eve)
    session_start(user=user)
    session_start(user=user)
    assert not Session.objects.filter(end_reason=SessionEndReason.SESSION_LIMIT).exists()
