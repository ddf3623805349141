"""The tokens endpoints through Ninja's TestClient on the real api (handlers included)."""

import threading
from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from core.cache import default_cache
from core.models import User
from tests.conftest import bearer
from tests.forge import claims_of, resign, tamper_signature, unsigned
from tokens.services import session_start

PAIR_FIELDS = {"access", "refresh", "token_type", "expires_in", "refresh_expires_in"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


def assert_invalid_token(response, code: str) -> None:
    assert_problem(response, 401, code)
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


# --- whoami and the bearer check ---------------------------------------------------------


def test_whoami_answers_from_the_token_with_zero_queries(client, pair, user, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/auth/whoami", headers=bearer(pair.access))
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == user.pk
    assert body["session_id"] == claims_of(pair.access)["sid"]
    assert datetime.fromisoformat(body["expires_at"]).timestamp() == claims_of(pair.access)["exp"]


def test_no_authorization_header_is_not_authenticated(client, db):
    response = client.get("/auth/whoami")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc"])
def test_malformed_authorization_header_is_not_authenticated(client, db, header):
    response = client.get("/auth/whoami", headers={"Authorization": header})
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_access_token(client, pair):
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert_invalid_token(client.get("/auth/whoami", headers=bearer(pair.access)), "token_expired")


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda t: resign(t, iat=claims_of(t)["iat"] + 300), id="not-yet-valid"),
        pytest.param(lambda t: resign(t, iss="https://evil.example"), id="wrong-issuer"),
        pytest.param(lambda t: resign(t, aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda t: resign(t, headers={"typ": "JWT"}), id="wrong-typ"),
        pytest.param(lambda t: resign(t, drop=("jti",)), id="missing-jti"),
        pytest.param(lambda t: resign(t, drop=("sub",)), id="missing-sub"),
        pytest.param(lambda t: resign(t, drop=("exp",)), id="missing-exp"),
        pytest.param(unsigned, id="alg-none"),
        pytest.param(tamper_signature, id="tampered-signature"),
        pytest.param(lambda t: "garbage", id="garbage"),
    ],
)
def test_forged_access_tokens_are_invalid(client, pair, forge):
    assert_invalid_token(client.get("/auth/whoami", headers=bearer(forge(pair.access))), "token_invalid")


def test_refresh_token_is_not_an_access_token(client, pair):
    assert_invalid_token(client.get("/auth/whoami", headers=bearer(pair.refresh)), "token_invalid")


def test_access_token_is_not_a_refresh_token(client, pair):
    assert_invalid_token(client.post("/auth/token/refresh", json={"refresh": pair.access}), "token_invalid")


# --- users/me ----------------------------------------------------------------------------


def test_users_me_returns_the_profile_in_one_query(client, pair, user, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/users/me", headers=bearer(pair.access))
    assert response.status_code == 200
    assert response.json() | {"date_joined": None, "auth_time": None} == {
        "id": user.pk,
        "email": "ada@example.com",
        "display_name": "Ada",
        "avatar_url": "",
        "date_joined": None,
        "language": "",
        # How the session signed in, from the access token (the fixture's session_start names no method).
        "auth_time": None,
        "amr": [],
        "acr": "aal1",
    }


def test_users_me_of_a_deleted_user_is_revoked(client, pair, user):
    User.objects.filter(pk=user.pk).delete()
    assert_invalid_token(client.get("/users/me", headers=bearer(pair.access)), "token_revoked")


# --- refresh -----------------------------------------------------------------------------


def test_refresh_returns_a_new_working_pair(client, pair):
    response = client.post("/auth/token/refresh", json={"refresh": pair.refresh})
    assert response.status_code == 200
    new = response.json()
    assert set(new) == PAIR_FIELDS
    assert new["token_type"] == "Bearer"
    assert new["refresh"] != pair.refresh
    assert new["access"] != pair.access
    assert client.get("/auth/whoami", headers=bearer(new["access"])).status_code == 200


def test_replayed_refresh_token_is_reuse_and_ends_the_session(client, pair, settings):
    settings.JWT_REFRESH_REUSE_INTERVAL = 0
    newer = client.post("/auth/token/refresh", json={"refresh": pair.refresh}).json()
    assert_invalid_token(client.post("/auth/token/refresh", json={"refresh": pair.refresh}), "token_reused")
    # Everything of the session is dead now: the newer refresh and both access tokens.
    assert_invalid_token(client.post("/auth/token/refresh", json={"refresh": newer["refresh"]}), "token_revoked")
    assert_invalid_token(client.get("/auth/whoami", headers=bearer(newer["access"])), "token_revoked")
    assert_invalid_token(client.get("/auth/whoami", headers=bearer(pair.access)), "token_revoked")


def test_refresh_without_a_body_is_a_422_problem_with_field_errors(client, db):
    body = assert_problem(client.post("/auth/token/refresh", json={}), 422, "validation_error")
    assert body["errors"][0]["loc"][-1] == "refresh"


def test_refresh_with_broken_json_is_a_problem(client, db):
    response = client.post("/auth/token/refresh", data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"


# --- verify ------------------------------------------------------------------------------


def test_verify_returns_the_claims_of_an_access_token(client, pair):
    response = client.post("/auth/token/verify", json={"token": pair.access})
    assert response.status_code == 200
    assert response.json() == claims_of(pair.access)


def test_verify_refuses_a_rotated_refresh_token(client, pair):
    assert client.post("/auth/token/verify", json={"token": pair.refresh}).status_code == 200
    client.post("/auth/token/refresh", json={"refresh": pair.refresh})
    assert_invalid_token(client.post("/auth/token/verify", json={"token": pair.refresh}), "token_reused")


def test_verify_refuses_a_tampered_token(client, pair):
    assert_invalid_token(
        client.post("/auth/token/verify", json={"token": tamper_signature(pair.access)}), "token_invalid"
    )


# --- logout, logout-all, sessions --------------------------------------------------------


def test_logout_with_bearer_ends_the_session(client, pair):
    response = client.post("/auth/logout", headers=bearer(pair.access))
    assert response.status_code == 204
    assert_invalid_token(client.get("/auth/whoami", headers=bearer(pair.access)), "token_revoked")
    assert_invalid_token(client.post("/auth/token/refresh", json={"refresh": pair.refresh}), "token_revoked")


def test_logout_with_only_a_refresh_token_ends_the_session(client, pair):
    assert client.post("/auth/logout", json={"refresh": pair.refresh}).status_code == 204
    assert_invalid_token(client.post("/auth/token/refresh", json={"refresh": pair.refresh}), "token_revoked")
    assert_invalid_token(client.get("/auth/whoami", headers=bearer(pair.access)), "token_revoked")


def test_logout_without_credentials_is_not_authenticated(client, db):
    assert_problem(client.post("/auth/logout"), 401, "not_authenticated")


def test_logout_with_an_invalid_bearer_does_not_fall_back_to_anonymous(client, pair):
    assert_invalid_token(client.post("/auth/logout", headers=bearer(tamper_signature(pair.access))), "token_invalid")


def test_logout_all_ends_every_session_of_the_user(client, user, pair):
    laptop = session_start(user=user, user_agent="laptop")
    response = client.post("/auth/logout-all", headers=bearer(pair.access))
    assert response.status_code == 200
    assert response.json() == {"sessions_ended": 2}
    for ended in (pair, laptop):
        assert_invalid_token(client.get("/auth/whoami", headers=bearer(ended.access)), "token_revoked")
        assert_invalid_token(client.post("/auth/token/refresh", json={"refresh": ended.refresh}), "token_revoked")


def test_sessions_lists_the_live_sessions_and_marks_the_current_one(client, user, pair):
    laptop = session_start(user=user, user_agent="laptop", ip="192.0.2.7")
    ended = session_start(user=user, user_agent="old phone")
    client.post("/auth/logout", headers=bearer(ended.access))
    session_start(user=User.objects.create_user(email="eve@example.com"))

    response = client.get("/auth/sessions", headers=bearer(pair.access))
    assert response.status_code == 200
    assert response.json()["next"] is None
    listed = {s["id"]: s for s in response.json()["items"]}
    assert set(listed) == {claims_of(pair.access)["sid"], claims_of(laptop.access)["sid"]}
    current = listed[claims_of(pair.access)["sid"]]
    assert current["current"] is True
    assert current["user_agent"] == "pytest"
    other = listed[claims_of(laptop.access)["sid"]]
    assert other["current"] is False
    assert other["ip"] == "192.0.2.7"
    assert set(other) == {"id", "created_at", "last_used_at", "expires_at", "user_agent", "ip", "current"}


def test_session_list_shows_the_last_refresh(client, pair):
    later = timezone.now() + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        new = client.post("/auth/token/refresh", json={"refresh": pair.refresh}).json()
        (listed,) = client.get("/auth/sessions", headers=bearer(new["access"])).json()["items"]
    assert listed["last_used_at"].startswith(later.isoformat()[:19])


def test_deleting_a_session_ends_it(client, user, pair):
    laptop = session_start(user=user, user_agent="laptop")
    response = client.delete(f"/auth/sessions/{claims_of(laptop.access)['sid']}", headers=bearer(pair.access))
    assert response.status_code == 204
    assert_invalid_token(client.get("/auth/whoami", headers=bearer(laptop.access)), "token_revoked")
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200


def test_deleting_another_users_session_is_404(client, pair, db):
    eve = session_start(user=User.objects.create_user(email="eve@example.com"))
    response = client.delete(f"/auth/sessions/{claims_of(eve.access)['sid']}", headers=bearer(pair.access))
    assert_problem(response, 404, "session_not_found")
    assert client.get("/auth/whoami", headers=bearer(eve.access)).status_code == 200


def test_deleting_a_session_with_a_malformed_id_is_422(client, pair):
    assert_problem(client.delete("/auth/sessions/not-a-uuid", headers=bearer(pair.access)), 422, "validation_error")


def count_cache_reads(monkeypatch) -> list[object]:
    """Records each read call to the cache (one round trip each), with the key or keys it asked for."""
    cache = default_cache()
    reads: list[object] = []
    inside = threading.local()  # the local-memory cache's get_many calls its own get: count the outer call
    for method in ("get", "get_many"):
        real = getattr(cache, method)

        def counting(keys, *args, _real=real, **kwargs):
            if getattr(inside, "call", False):
                return _real(keys, *args, **kwargs)
            reads.append(keys)
            inside.call = True
            try:
                return _real(keys, *args, **kwargs)
            finally:
                inside.call = False

        monkeypatch.setattr(cache, method, counting)
    return reads


def test_whoami_reads_the_cache_once_with_the_denylist_on(client, pair, monkeypatch, django_assert_num_queries):
    reads = count_cache_reads(monkeypatch)
    with django_assert_num_queries(0):
        assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    assert len(reads) == 1


def test_whoami_reads_no_cache_with_the_denylist_off(client, pair, monkeypatch, settings):
    settings.JWT_SESSION_DENYLIST = False
    reads = count_cache_reads(monkeypatch)
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    assert reads == []
