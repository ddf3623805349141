"""The refresh token in an HttpOnly cookie (JWT_REFRESH_TRANSPORT), its CSRF defence, and CORS.

Through Django's test client: the whole middleware stack (CORS, the refused-cookie
middleware) and a cookie jar, as a browser has.
"""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.utils import timezone

from tests import social_mocks as mocks
from tests.forge import claims_of
from tokens.models import RefreshToken, Session
from tokens.services import session_start

pytestmark = pytest.mark.django_db

COOKIE = "__Host-refresh_token"
FRONTEND = "https://app.example.com"
CSRF = {"HTTP_X_REQUESTED_WITH": "fetch"}


@pytest.fixture
def cookie_mode(settings):
    settings.JWT_REFRESH_TRANSPORT = "cookie"
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]
    return settings


def post(client: Client, path: str, body: dict | None = None, **extra):
    if body is None:  # as fetch() sends a POST without a body: no Content-Type either
        return client.generic("POST", f"/api/auth{path}", b"", content_type="", **extra)
    return client.post(f"/api/auth{path}", json.dumps(body), content_type="application/json", **extra)


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    return response.json()


def signed_in(client: Client, pair) -> Client:
    """A browser holding the refresh cookie of `pair`, as the social callback leaves it."""
    client.cookies[COOKIE] = pair.refresh
    return client


def successors() -> int:
    return RefreshToken.objects.filter(rotated_from__isnull=False).count()


# --- the cookie itself -------------------------------------------------------------------------


def test_in_cookie_mode_refresh_sets_the_cookie_and_keeps_the_token_out_of_the_body(django_client, cookie_mode, pair):
    response = post(signed_in(django_client, pair), "/token/refresh", **CSRF)

    assert response.status_code == 200, response.content
    assert response.json()["refresh"] is None
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["domain"] == ""  # __Host-: this host only
    assert cookie["max-age"] == response.json()["refresh_expires_in"] == cookie_mode.JWT_REFRESH_TTL
    assert cookie.value != pair.refresh
    assert claims_of(cookie.value)["jti"] == RefreshToken.objects.get(rotated_from__isnull=False).jti.hex


def test_on_plain_http_loopback_the_cookie_has_its_documented_fallback_name(cookie_mode, pair):
    browser = Client(HTTP_HOST="127.0.0.1:8000")
    browser.cookies["refresh_token"] = pair.refresh

    response = post(browser, "/token/refresh", **CSRF)

    assert response.status_code == 200, response.content
    cookie = response.cookies["refresh_token"]
    assert COOKIE not in response.cookies
    assert cookie["secure"] == ""  # a browser drops a Secure cookie set over plain http
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"


def test_plain_http_on_a_public_host_still_gets_the_secure_prefixed_cookie(cookie_mode, pair, settings):
    settings.ALLOWED_HOSTS = ["api.example.com"]
    browser = Client(HTTP_HOST="api.example.com")
    browser.cookies[COOKIE] = pair.refresh

    response = post(browser, "/token/refresh", **CSRF)

    assert response.status_code == 200, response.content
    assert response.cookies[COOKIE]["secure"] is True


def test_the_social_callback_sets_the_cookie_in_cookie_mode(client, rsps, social, cookie_mode):
    response = mocks.login_kakao(client, rsps)

    assert response.status_code == 200, response.json()
    assert response.json()["refresh"] is None
    # The binding cookie is gone; the refresh cookie is set, and the device cookie as every sign-in sets it.
    assert set(client.cookies) == {COOKIE, "__Host-device"}
    assert post(Client(), "/token/refresh", {"refresh": client.cookies[COOKIE]}, **CSRF).status_code == 200


def test_in_both_mode_the_token_is_in_the_body_and_the_cookie(django_client, settings, pair):
    settings.JWT_REFRESH_TRANSPORT = "both"

    response = post(django_client, "/token/refresh", {"refresh": pair.refresh}, **CSRF)

    assert response.status_code == 200
    assert response.json()["refresh"] == response.cookies[COOKIE].value


def test_body_mode_is_unchanged_no_cookie_and_the_cookie_is_ignored(django_client, pair):
    response = post(django_client, "/token/refresh", {"refresh": pair.refresh})
    assert response.status_code == 200
    assert response.json()["refresh"]
    assert response.cookies == {}

    # A cookie (left from cookie mode, or planted) is no credential in body mode.
    django_client.cookies[COOKIE] = response.json()["refresh"]
    body = assert_problem(post(django_client, "/token/refresh", {}, **CSRF), 422, "validation_error")
    assert body["errors"][0]["loc"][-1] == "refresh"


def test_in_cookie_mode_a_refresh_with_neither_cookie_nor_body_is_not_authenticated(django_client, cookie_mode, db):
    assert_problem(post(django_client, "/token/refresh", **CSRF), 401, "not_authenticated")


# --- CSRF: every request the cookie authenticates ------------------------------------------------


def test_a_cookie_refresh_without_the_custom_header_is_csrf_failed_and_leaves_the_cookie_unused(
    django_client, cookie_mode, pair
):
    browser = signed_in(django_client, pair)

    response = post(browser, "/token/refresh")

    assert_problem(response, 403, "csrf_failed")
    assert COOKIE not in response.cookies
    assert successors() == 0
    # Not consumed: the real page's next refresh works.
    assert post(browser, "/token/refresh", **CSRF).status_code == 200


def test_a_cookie_refresh_from_a_foreign_origin_is_csrf_failed(django_client, cookie_mode, pair):
    browser = signed_in(django_client, pair)

    assert_problem(post(browser, "/token/refresh", HTTP_ORIGIN="https://evil.example", **CSRF), 403, "csrf_failed")
    assert_problem(post(browser, "/token/refresh", HTTP_ORIGIN="null", **CSRF), 403, "csrf_failed")
    assert successors() == 0


def test_a_cross_site_form_post_is_csrf_failed(django_client, cookie_mode, pair):
    # What <form method=post action=https://api/...> on another site sends: no custom header.
    response = signed_in(django_client, pair).post(
        "/api/auth/token/refresh", {"refresh": ""}, HTTP_ORIGIN="https://evil.example"
    )

    assert_problem(response, 403, "csrf_failed")
    assert successors() == 0


def test_a_cookie_logout_without_the_header_is_csrf_failed_and_the_session_lives(django_client, cookie_mode, pair):
    assert_problem(post(signed_in(django_client, pair), "/logout"), 403, "csrf_failed")
    assert Session.objects.get().ended_at is None


def test_the_apis_own_origin_and_the_listed_frontend_may_use_the_cookie(django_client, cookie_mode, user):
    for origin in ("https://testserver", FRONTEND):
        browser = signed_in(Client(), session_start(user=user))
        assert post(browser, "/token/refresh", HTTP_ORIGIN=origin, secure=True, **CSRF).status_code == 200, origin


def test_a_refresh_token_in_the_body_needs_the_header_too_as_the_answer_sets_the_cookie(
    django_client, cookie_mode, pair
):
    # The token is not ambient, but the answer plants a session in the browser (login CSRF).
    assert_problem(post(django_client, "/token/refresh", {"refresh": pair.refresh}), 403, "csrf_failed")
    assert successors() == 0
    assert post(django_client, "/token/refresh", {"refresh": pair.refresh}, **CSRF).status_code == 200


# --- cleared on logout, logout-all and reuse ---------------------------------------------------


def assert_cleared(response) -> None:
    cookie = response.cookies[COOKIE]
    assert cookie.value == ""
    assert cookie["max-age"] == 0
    assert cookie["path"] == "/"
    assert cookie["secure"] is True


def test_logout_with_the_cookie_ends_the_session_and_clears_the_cookie(django_client, cookie_mode, pair):
    response = post(signed_in(django_client, pair), "/logout", **CSRF)

    assert response.status_code == 204
    assert_cleared(response)
    assert Session.objects.get().end_reason == "logout"


def test_logout_with_an_expired_access_token_still_ends_the_session_named_by_the_cookie(
    django_client, cookie_mode, pair
):
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        response = post(signed_in(django_client, pair), "/logout", HTTP_AUTHORIZATION=f"Bearer {pair.access}", **CSRF)

    assert response.status_code == 204, response.content
    assert Session.objects.get().ended_at is not None
    assert_problem(post(Client(), "/token/refresh", {"refresh": pair.refresh}, **CSRF), 401, "token_revoked")


def test_logout_with_an_expired_access_token_and_the_body_refresh_ends_the_session(django_client, pair):
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        response = post(django_client, "/logout", {"refresh": pair.refresh}, HTTP_AUTHORIZATION=f"Bearer {pair.access}")

    assert response.status_code == 204, response.content
    assert Session.objects.get().ended_at is not None


def test_logout_all_clears_the_cookie(django_client, cookie_mode, pair):
    response = signed_in(django_client, pair).post("/api/auth/logout-all", HTTP_AUTHORIZATION=f"Bearer {pair.access}")

    assert response.status_code == 200
    assert_cleared(response)


def test_reuse_ends_the_session_and_clears_the_cookie(django_client, cookie_mode, pair, settings):
    settings.JWT_REFRESH_REUSE_INTERVAL = 0
    browser = signed_in(django_client, pair)
    assert post(Client(), "/token/refresh", {"refresh": pair.refresh}, **CSRF).status_code == 200  # the thief, first

    response = post(browser, "/token/refresh", **CSRF)

    assert_problem(response, 401, "token_reused")
    assert_cleared(response)


# --- CORS: django-cors-headers, exact origins, credentials, preflight cached ---------------------


def preflight(client: Client, origin: str):
    return client.options(
        "/api/auth/token/refresh",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-requested-with",
    )


def test_a_preflight_from_a_listed_origin_is_allowed_with_credentials_and_cached(django_client, cookie_mode):
    response = preflight(django_client, FRONTEND)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "x-requested-with" in response["Access-Control-Allow-Headers"]
    assert int(response["Access-Control-Max-Age"]) == 7200


def test_a_preflight_from_another_origin_gets_no_cors_headers(django_client, cookie_mode):
    response = preflight(django_client, "https://evil.example")

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


def test_problem_responses_carry_cors_headers_for_a_listed_origin(django_client, cookie_mode, db):
    response = post(django_client, "/token/refresh", HTTP_ORIGIN=FRONTEND, **CSRF)

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == FRONTEND


@pytest.mark.parametrize("origin", [None, FRONTEND, "https://evil.example"])
def test_every_api_response_varies_on_origin_whether_or_not_the_request_has_one(django_client, cookie_mode, origin):
    # core.middleware.CorsMiddleware answers a request without Origin itself: a cache must
    # still keep that response apart from one given to a listed origin.
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    response = django_client.get("/api/health/live", **headers)

    assert "origin" in response["Vary"].lower()
    assert response.get("Access-Control-Allow-Origin") == (FRONTEND if origin == FRONTEND else None)


def test_paths_outside_the_api_get_no_cors_headers(django_client, cookie_mode):
    response = django_client.get("/", HTTP_ORIGIN=FRONTEND)

    assert "Access-Control-Allow-Origin" not in response
    assert "origin" not in response.get("Vary", "").lower()


# --- system checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("JWT_REFRESH_TRANSPORT", "header", "tokens.E001"),
        ("JWT_REFRESH_REUSE_INTERVAL", -1, "tokens.E001"),
        ("CORS_ALLOW_ALL_ORIGINS", True, "tokens.E002"),
        ("CORS_ALLOWED_ORIGIN_REGEXES", [r"^https://.*\.example\.com$"], "tokens.E002"),
    ],
)
def test_system_checks_refuse_unsafe_or_unknown_session_settings(settings, setting, value, check_id):
    setattr(settings, setting, value)
    with pytest.raises(SystemCheckError, match=check_id):
        call_command("check")
