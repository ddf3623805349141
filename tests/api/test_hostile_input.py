"""Hostile or broken input is a 4xx problem, never a 500: malformed tokens, oversized bodies,
requests Django finds suspicious."""

import logging

import pytest
from django.core.exceptions import SuspiciousOperation

from tests.api.test_token_api import assert_invalid_token, assert_problem
from tests.conftest import bearer
from tests.forge import reshaped

# Each one is signed with the right key, so only its shape is wrong.
MALFORMED = {
    "typ-list": {"header": {"typ": []}},
    "typ-object": {"header": {"typ": {"a": 1}}},
    "typ-number": {"header": {"typ": 1}},
    "kid-list": {"header": {"kid": []}},
    "kid-number": {"header": {"kid": 7}},
    "alg-list": {"header": {"alg": ["HS256"]}},
    "crit-unknown": {"header": {"crit": ["exp"]}},
    "exp-string": {"exp": "2000000000"},
    "exp-huge": {"exp": 1e30},
    "exp-infinity": {"exp": float("inf")},
    "exp-nan": {"exp": float("nan")},
    "exp-float": {"exp": 2000000000.5},
    "exp-null": {"exp": None},
    "exp-list": {"exp": [2000000000]},
    "iat-string": {"iat": "1000000000"},
    "iat-huge-negative": {"iat": -1e30},
    "nbf-object": {"nbf": {}},
    "sub-number": {"sub": 1},
    "sub-list": {"sub": ["1"]},
    "jti-number": {"jti": 12},
    "sid-list": {"sid": []},
    "sid-number": {"sid": 12},
    "token_type-list": {"token_type": ["access", "refresh"]},
    "aud-numbers": {"aud": [1]},
    "iss-object": {"iss": {"url": "x"}},
}
# The subject is a user id: one that no database column can hold, or not a number, is malformed too.
MALFORMED.update(
    {
        "sub-huge": {"sub": "9" * 40},
        "sub-negative": {"sub": "-1"},
        "sub-not-a-number": {"sub": "ada"},
        "sub-not-ascii-digits": {"sub": "\u0661"},
    }
)


def _reshape(token: str, change: dict) -> str:
    change = dict(change)
    return reshaped(token, header=change.pop("header", None), **change)


def _whoami(client, access, refresh):
    return client.get("/auth/whoami", headers=bearer(access))


def _users_me(client, access, refresh):
    return client.get("/users/me", headers=bearer(access))


def _sessions(client, access, refresh):
    return client.get("/auth/sessions", headers=bearer(access))


def _logout_bearer(client, access, refresh):
    return client.post("/auth/logout", headers=bearer(access))


def _verify_access(client, access, refresh):
    return client.post("/auth/token/verify", json={"token": access})


def _verify_refresh(client, access, refresh):
    return client.post("/auth/token/verify", json={"token": refresh})


def _refresh(client, access, refresh):
    return client.post("/auth/token/refresh", json={"refresh": refresh})


def _logout_refresh(client, access, refresh):
    return client.post("/auth/logout", json={"refresh": refresh})


WITH_ACCESS = [_whoami, _users_me, _sessions, _logout_bearer, _verify_access]
WITH_REFRESH = [_verify_refresh, _refresh, _logout_refresh]


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("call", WITH_ACCESS, ids=lambda call: call.__name__.strip("_"))
def test_a_malformed_access_token_is_token_invalid_everywhere(client, pair, call, change):
    response = call(client, _reshape(pair.access, change), pair.refresh)
    assert_invalid_token(response, "token_invalid")


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("call", WITH_REFRESH, ids=lambda call: call.__name__.strip("_"))
def test_a_malformed_refresh_token_is_token_invalid_everywhere(client, pair, call, change):
    response = call(client, pair.access, _reshape(pair.refresh, change))
    assert_invalid_token(response, "token_invalid")


def test_a_refresh_token_naming_another_user_than_its_session_is_invalid(client, pair, user):
    other = user.__class__.objects.create_user(email="eve@example.com", display_name="Eve")
    forged = reshaped(pair.refresh, sub=str(other.pk))
    assert_invalid_token(client.post("/auth/token/refresh", json={"refresh": forged}), "token_invalid")


def test_a_malformed_token_leaves_its_session_alive(client, pair):
    _refresh(client, pair.access, _reshape(pair.refresh, MALFORMED["typ-list"]))
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    assert client.post("/auth/token/refresh", json={"refresh": pair.refresh}).status_code == 200


# --- bodies -----------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413_problem(django_client, db, settings, caplog):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    with caplog.at_level(logging.INFO):
        response = django_client.post(
            "/api/auth/token/refresh", data={"refresh": "x" * 2048}, content_type="application/json", secure=True
        )
    assert_problem(response, 413, "payload_too_large")
    assert "Traceback" not in caplog.text


def test_the_default_body_limit_refuses_ten_megabytes(django_client, db):
    response = django_client.post(
        "/api/auth/token/refresh", data=b"{" + b" " * 10_000_000 + b"}", content_type="application/json", secure=True
    )
    assert_problem(response, 413, "payload_too_large")


def test_a_body_under_the_limit_is_read(django_client, pair, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    response = django_client.post(
        "/api/auth/token/refresh", data={"refresh": pair.refresh}, content_type="application/json", secure=True
    )
    assert response.status_code == 200


@pytest.mark.parametrize("body", ["[null, null]", "[]", "7", '"refresh"'])
def test_a_logout_body_that_is_not_an_object_is_a_422_problem(client, pair, body):
    response = client.post("/auth/logout", data=body, content_type="application/json", headers=bearer(pair.access))
    assert_problem(response, 422, "validation_error")


# --- anything Django calls suspicious ---------------------------------------------------


def test_a_suspicious_operation_in_an_endpoint_is_a_400_problem(client, db, monkeypatch, caplog):
    def suspicious(**kwargs):
        raise SuspiciousOperation("the request tried something odd")

    monkeypatch.setattr("tokens.services.token_verify", suspicious)
    with caplog.at_level(logging.INFO):
        response = client.post("/auth/token/verify", json={"token": "x"})
    body = assert_problem(response, 400, "bad_request")
    assert "odd" not in body["detail"]
    assert "Traceback" not in caplog.text


def test_a_disallowed_host_under_the_api_is_a_400_problem(django_client, db):
    response = django_client.get("/api/health/live", HTTP_HOST="evil.example", secure=True)
    assert_problem(response, 400, "bad_request")


def _json_post_paths() -> list[str]:
    """Every POST operation of the API that takes a JSON body, its path parameters filled in."""
    from config.api import api

    schema = api.get_openapi_schema()
    paths = []
    for path, operations in schema["paths"].items():
        body = operations.get("post", {}).get("requestBody", {})
        if "application/json" in body.get("content", {}):
            paths.append(path.replace("{provider}", "dev").replace("{id}", "1"))
    return paths


DEEPLY_NESTED = '{"email": ' + "[" * 5000 + "]" * 5000 + "}"


@pytest.mark.parametrize("path", _json_post_paths())
def test_a_body_nested_past_the_parsers_depth_is_a_4xx_problem_everywhere(django_client, db, path, caplog):
    """A RecursionError of the JSON parser, in a throttle that reads the body first or in the view, is the
    client's doing: never a 500 (and no traceback to flood the log with)."""
    response = django_client.post(path, DEEPLY_NESTED, content_type="application/json")

    assert 400 <= response.status_code < 500, (path, response.status_code, response.content[:200])
    assert response["Content-Type"] == "application/problem+json"
    assert "Traceback" not in caplog.text
