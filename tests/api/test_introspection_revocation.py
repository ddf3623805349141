"""RFC 7662 introspection (resource servers) and RFC 7009 revocation (public clients), through the real API."""

import base64
import hashlib
from datetime import UTC, timedelta

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from tests.conftest import bearer
from tests.forge import claims_of
from tokens.models import Session, SessionEndReason
from tokens.services import session_start

SECRET_OLD, SECRET_NEW, OTHER_SECRET = "rs-secret-old-0123456789abcdef", "rs-secret-new-0123456789abcdef", "other-0123"
COOKIE = "__Host-refresh_token"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def extra_claims(user) -> dict:
    return {"email": user.email, "roles": ["reader"]}


@pytest.fixture(autouse=True)
def resource_servers(settings):
    # One resource server in the middle of a secret rotation (two digests), and another.
    settings.JWT_INTROSPECTION_CLIENTS = [
        f"orders:{digest(SECRET_OLD)}",
        f"orders:{digest(SECRET_NEW)}",
        f"billing:{digest(OTHER_SECRET)}",
    ]


def introspect(client, token: str | None, **headers: str) -> dict:
    response = client.post(
        "/auth/introspect",
        data={"token": token} if token is not None else {},
        headers=headers or basic("orders", SECRET_NEW),
    )
    assert response.status_code == 200, response.json()
    return response.json()


def active(client, token: str) -> bool:
    return introspect(client, token)["active"]


# --- introspection ------------------------------------------------------------------------------


def test_an_active_access_token_is_introspected_with_every_rfc_7662_field(
    client, user, settings, django_assert_num_queries
):
    settings.JWT_EXTRA_CLAIMS = "tests.api.test_introspection_revocation.extra_claims"
    pair = session_start(user=user)
    claims = claims_of(pair.access)
    with django_assert_num_queries(1):  # the session, from the database
        response = client.post("/auth/introspect", data={"token": pair.access}, headers=basic("orders", SECRET_NEW))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    answer = response.json()
    assert answer["active"] is True
    for name in ("sub", "exp", "iat", "iss", "aud", "sid", "jti"):
        assert answer[name] == claims[name]
    assert answer["token_type"] == "Bearer"
    assert answer["sub"] == str(user.pk)
    assert (answer["email"], answer["roles"]) == ("ada@example.com", ["reader"])


def test_both_secrets_of_a_resource_server_in_rotation_are_accepted(client, pair):
    assert introspect(client, pair.access, **basic("orders", SECRET_OLD))["active"] is True
    assert introspect(client, pair.access, **basic("orders", SECRET_NEW))["active"] is True
    assert introspect(client, pair.access, **basic("billing", OTHER_SECRET))["active"] is True


def test_a_logout_shows_at_once_even_where_the_bearer_check_does_not_see_it(client, pair, settings):
    # Without the denylist, the API's own bearer check accepts the token until it expires:
    # introspection asks the database, and the logout is there from its commit.
    settings.JWT_SESSION_DENYLIST = False
    assert active(client, pair.access)
    assert client.post("/auth/logout", json={"refresh": pair.refresh}).status_code == 204
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    assert introspect(client, pair.access) == {"active": False}


def test_refresh_token_reuse_makes_the_sessions_access_tokens_inactive(client, pair, settings):
    settings.JWT_REFRESH_REUSE_INTERVAL = 0
    assert client.post("/auth/token/refresh", json={"refresh": pair.refresh}).status_code == 200
    assert client.post("/auth/token/refresh", json={"refresh": pair.refresh}).json()["code"] == "token_reused"
    assert Session.objects.get().end_reason == SessionEndReason.REUSE
    assert introspect(client, pair.access) == {"active": False}


def test_an_expired_access_token_is_inactive_with_no_leeway(client, pair):
    exp = claims_of(pair.access)["exp"]
    with time_machine.travel(timezone.datetime.fromtimestamp(exp - 1, tz=UTC), tick=False):
        assert active(client, pair.access)
    with time_machine.travel(timezone.datetime.fromtimestamp(exp, tz=UTC), tick=False):
        assert introspect(client, pair.access) == {"active": False}


def test_a_deactivated_users_tokens_are_inactive(client, user, pair):
    assert active(client, pair.access)
    # An update that bypasses the model's save: the database's state alone decides.
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert introspect(client, pair.access) == {"active": False}


def test_a_session_past_its_absolute_end_is_inactive(client, pair):
    Session.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert introspect(client, pair.access) == {"active": False}


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_malformed_tokens_are_inactive(client, token):
    if token == "":
        response = client.post("/auth/introspect", data={"token": ""}, headers=basic("orders", SECRET_NEW))
        assert (response.status_code, response.json()["code"], response.json()["error"]) == (
            400,
            "invalid_request",
            "invalid_request",
        )
        return
    assert introspect(client, token) == {"active": False}


def test_a_refresh_token_and_a_foreign_token_are_inactive(client, pair):
    assert introspect(client, pair.refresh) == {"active": False}
    forged = jwt.encode(
        claims_of(pair.access), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"typ": "at+jwt"}
    )
    assert introspect(client, forged) == {"active": False}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("orders", "wrong"),
        basic("nobody", SECRET_NEW),
        basic("billing", SECRET_NEW),  # another caller's secret
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + base64.b64encode(b"orders").decode()},  # no colon
        {"Authorization": f"Bearer {SECRET_NEW}"},
    ],
)
def test_a_caller_without_valid_credentials_gets_401_with_a_basic_challenge(client, pair, headers):
    response = client.post("/auth/introspect", data={"token": pair.access}, headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Basic realm="introspection"')
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["error"]) == ("introspection_client_invalid", "invalid_client")
    assert "active" not in body


def test_no_caller_is_admitted_when_none_is_configured(client, pair, settings):
    settings.JWT_INTROSPECTION_CLIENTS = []
    response = client.post("/auth/introspect", data={"token": pair.access}, headers=basic("orders", SECRET_NEW))
    assert response.status_code == 401


def test_introspection_is_rate_limited_per_caller(client, pair, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "introspect": "2/min"}
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(2):
            assert active(client, pair.access)
        refused = client.post("/auth/introspect", data={"token": pair.access}, headers=basic("orders", SECRET_OLD))
        assert (refused.status_code, refused.json()["code"]) == (429, "throttled")
        # Another resource server has its own budget.
        assert introspect(client, pair.access, **basic("billing", OTHER_SECRET))["active"] is True


# --- revocation ---------------------------------------------------------------------------------


def revoke(client, token: str, **kwargs) -> None:
    response = client.post("/auth/revoke", data={"token": token, **kwargs})
    assert response.status_code == 200, response.content
    assert response.content == b""


def test_revoking_a_refresh_token_ends_its_session(client, pair):
    revoke(client, pair.refresh, token_type_hint="refresh_token")
    assert Session.objects.get().end_reason == SessionEndReason.LOGOUT
    assert client.post("/auth/token/refresh", json={"refresh": pair.refresh}).json()["code"] == "token_revoked"
    assert client.get("/auth/whoami", headers=bearer(pair.access)).json()["code"] == "token_revoked"
    assert introspect(client, pair.access) == {"active": False}


def test_revoking_an_access_token_ends_its_session(client, pair):
    revoke(client, pair.access)
    assert Session.objects.get().ended_at is not None
    assert client.post("/auth/token/refresh", json={"refresh": pair.refresh}).json()["code"] == "token_revoked"


def test_a_wrong_hint_does_not_stop_the_revocation(client, pair):
    revoke(client, pair.access, token_type_hint="refresh_token")
    assert Session.objects.get().ended_at is not None


def test_unknown_malformed_and_already_revoked_tokens_get_200(client, user, pair):
    revoke(client, "garbage")
    revoke(client, pair.refresh)
    revoke(client, pair.refresh)  # already revoked
    revoke(client, pair.access)  # its session already ended
    other = session_start(user=user)
    Session.objects.filter(pk=claims_of(other.access)["sid"]).delete()
    revoke(client, other.refresh)  # unknown to the database


def test_revocation_without_a_token_is_400_invalid_request(client):
    response = client.post("/auth/revoke", data={})
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["error"]) == ("invalid_request", "invalid_request")


def test_in_cookie_mode_a_revocation_carrying_the_cookie_needs_the_csrf_header(django_client, settings, pair):
    settings.JWT_REFRESH_TRANSPORT = "cookie"
    django_client.cookies[COOKIE] = pair.refresh
    refused = django_client.post("/api/auth/revoke", {"token": pair.access})
    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed")
    assert Session.objects.get().ended_at is None
    foreign = django_client.post(
        "/api/auth/revoke", {"token": pair.access}, HTTP_X_REQUESTED_WITH="fetch", HTTP_ORIGIN="https://evil.example"
    )
    assert (foreign.status_code, foreign.json()["code"]) == (403, "csrf_failed")
    accepted = django_client.post("/api/auth/revoke", {"token": pair.access}, HTTP_X_REQUESTED_WITH="fetch")
    assert accepted.status_code == 200
    assert Session.objects.get().ended_at is not None


# --- what a resource server's tester sent next (malformed bodies, repeated parameters) -----------


def test_a_token_sent_twice_is_400_not_the_last_one_wins(django_client, pair):
    body = f"token=garbage&token={pair.access}"
    for path, headers in (("introspect", basic("orders", SECRET_NEW)), ("revoke", {})):
        response = django_client.post(
            f"/api/auth/{path}",
            body,
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )
        assert response.status_code == 400, (path, response.content)
        assert response.json()["code"] == "invalid_request"
    assert Session.objects.get().ended_at is None


@pytest.mark.parametrize("charset", ["utf-16", "utf-32", "utf-7", "cp037"])
def test_a_body_in_another_charset_is_415_never_500(django_client, pair, charset):
    for path in ("introspect", "revoke"):
        response = django_client.post(
            f"/api/auth/{path}",
            b"token=abc",
            content_type=f"application/x-www-form-urlencoded; charset={charset}",
            headers=basic("orders", SECRET_NEW),
        )
        assert response.status_code == 415, (path, response.content)
        assert response.json()["code"] == "unsupported_media_type"


def test_a_multipart_body_without_a_boundary_is_400_never_500(django_client, pair):
    for path in ("introspect", "revoke"):
        response = django_client.post(
            f"/api/auth/{path}", b"abc", content_type="multipart/form-data", headers=basic("orders", SECRET_NEW)
        )
        assert response.status_code == 400, (path, response.content)
        assert response["Content-Type"] == "application/problem+json"


def test_the_key_set_and_metadata_answer_head_and_a_wrong_method_is_a_problem(django_client, db):
    for path in ("/.well-known/jwks.json", "/.well-known/oauth-authorization-server"):
        assert django_client.head(path).status_code == 200
        refused = django_client.post(path)
        assert refused.status_code == 405
        assert refused["Content-Type"] == "application/problem+json"
