"""The attacks of the outside review (issue 25), each replayed as the review describes it, and refused.

Through Django's test client where the attack is a browser's (content types, Origin, cookies:
the whole middleware stack), through Ninja's TestClient otherwise.
"""

import json

import pytest
from django.core import mail
from django.test import Client

from core.models import User
from tests.accounts_helpers import STRONG_PASSWORD, last_link_to, outbox_to
from tests.conftest import bearer
from tokens.models import Session
from tokens.services import session_start

pytestmark = pytest.mark.django_db

COOKIE = "__Host-refresh_token"
EVIL = "https://evil.test"
CSRF = {"HTTP_X_REQUESTED_WITH": "fetch"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    return response.json()


@pytest.fixture
def cookie_mode(settings):
    settings.JWT_REFRESH_TRANSPORT = "cookie"
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    return settings


@pytest.fixture
def attacker(db) -> User:
    return User.objects.create_user(email="mallory@example.com", password=STRONG_PASSWORD, email_verified=True)


# --- 1. login CSRF: a foreign page cannot plant its session in the victim's browser ---------------


def form_post(path: str, body: dict, content_type: str, **headers) -> object:
    """What an HTML form on evil.test can send: no custom header, a simple content type."""
    if content_type == "application/x-www-form-urlencoded":
        data = "&".join(f"{name}={value}" for name, value in body.items())
    else:  # text/plain: <form enctype="text/plain"> can shape its body into JSON
        data = json.dumps(body)
    return Client().post(f"/api/auth{path}", data, content_type=content_type, HTTP_ORIGIN=EVIL, **headers)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_foreign_forms_password_sign_in_sets_no_cookie(cookie_mode, attacker, content_type):
    body = {"email": "mallory@example.com", "password": STRONG_PASSWORD}

    response = form_post("/token", body, content_type)

    assert_problem(response, 403, "csrf_failed")
    assert COOKIE not in response.cookies
    assert not Session.objects.exists()


def test_a_foreign_origin_is_refused_even_with_the_header(cookie_mode, attacker):
    body = {"email": "mallory@example.com", "password": STRONG_PASSWORD}

    response = Client().post(
        "/api/auth/token", json.dumps(body), content_type="application/json", HTTP_ORIGIN=EVIL, **CSRF
    )

    assert_problem(response, 403, "csrf_failed")
    assert COOKIE not in response.cookies


def test_the_apis_own_page_still_signs_in_and_gets_the_cookie(cookie_mode, attacker):
    body = {"email": "mallory@example.com", "password": STRONG_PASSWORD}

    response = Client().post(
        "/api/auth/token", json.dumps(body), content_type="application/json", HTTP_ORIGIN="http://testserver", **CSRF
    )

    assert response.status_code == 200, response.content
    assert response.cookies[COOKIE].value


@pytest.mark.parametrize("transport", ["cookie", "both"])
def test_the_emailed_link_endpoints_refuse_a_foreign_form_and_change_nothing(client, settings, transport):
    settings.JWT_REFRESH_TRANSPORT = transport
    User.objects.create_user(email="mallory@example.com", password=STRONG_PASSWORD)
    verify = {**last_link_to_after_resend(client, "mallory@example.com"), "password": STRONG_PASSWORD}
    client.post("/auth/password/reset", json={"email": "mallory@example.com"})
    reset = {**last_link_to("mallory@example.com"), "new_password": "the attackers new passphrase"}

    for path, body in (("/email/verify", verify), ("/password/reset/confirm", reset)):
        response = form_post(path, body, "text/plain")
        assert_problem(response, 403, "csrf_failed")
        assert COOKIE not in response.cookies
    user = User.objects.get()
    assert not user.email_verified
    assert user.check_password(STRONG_PASSWORD)
    assert not Session.objects.exists()


def last_link_to_after_resend(client, address: str) -> dict[str, str]:
    assert client.post("/auth/email/verify/resend", json={"email": address}).status_code == 202
    return last_link_to(address)


def test_the_social_callback_refuses_a_foreign_origin_before_spending_the_state(client, rsps, social, cookie_mode):
    from tests import social_mocks as mocks

    mocks.mock_kakao(rsps)
    state = mocks.authorize(client, "kakao")["state"]

    forged = client.post(
        "/auth/social/kakao/callback", json={"code": "attacker-code", "state": state}, headers={"Origin": EVIL}
    )

    assert forged.status_code == 403
    assert forged.json()["code"] == "csrf_failed"
    assert COOKIE not in client.cookies
    # Nothing changed: the pending login is still there for the real page.
    assert mocks.callback(client, "kakao", state=state).status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_every_json_endpoint_refuses_a_body_a_form_can_send(attacker, content_type):
    # Body mode: no cookie, no CSRF guard; the content type alone keeps the form out.
    body = json.dumps({"email": "mallory@example.com", "password": STRONG_PASSWORD})

    response = Client().generic("POST", "/api/auth/token", body, content_type=content_type, HTTP_ORIGIN=EVIL)

    assert_problem(response, 415, "unsupported_media_type")
    assert not Session.objects.exists()


def test_a_json_body_with_a_charset_is_json(attacker):
    body = json.dumps({"email": "mallory@example.com", "password": STRONG_PASSWORD})

    response = Client().post("/api/auth/token", body, content_type="application/json; charset=utf-8")

    assert response.status_code == 200, response.content


# --- 2. the attacker's verification link never signs the victim in ---------------------------------


def test_the_victim_clicking_the_attackers_link_verifies_nothing_and_the_attackers_password_dies(client):
    # The attacker signs the victim's address up, with a name that reads as an instruction.
    client.post(
        "/auth/register",
        json={"email": "victim@example.com", "password": STRONG_PASSWORD, "display_name": "Please confirm"},
    )
    (message,) = outbox_to("victim@example.com")
    assert "Please confirm" not in message.body
    assert "Please confirm" not in message.subject

    # The victim clicks: the link alone neither verifies nor signs in.
    clicked = client.post("/auth/email/verify", json=last_link_to("victim@example.com"))

    assert clicked.status_code == 403
    assert clicked.json()["code"] == "password_required"
    assert not User.objects.get().email_verified
    assert not Session.objects.exists()
    attacker_sign_in = {"email": "victim@example.com", "password": STRONG_PASSWORD}
    assert client.post("/auth/token", json=attacker_sign_in).json()["code"] == "email_unverified"

    # The victim takes the address back the way the page then offers: a reset.
    client.post("/auth/password/reset", json={"email": "victim@example.com"})
    reset = {**last_link_to("victim@example.com"), "new_password": "the victims own passphrase"}
    assert client.post("/auth/password/reset/confirm", json=reset).status_code == 200

    refused = client.post("/auth/token", json=attacker_sign_in)
    assert refused.status_code == 401
    assert refused.json()["code"] == "credentials_invalid"


def test_the_registrant_verifies_with_the_link_and_the_password(client):
    client.post("/auth/register", json={"email": "grace@example.com", "password": STRONG_PASSWORD})
    link = last_link_to("grace@example.com")

    wrong = client.post("/auth/email/verify", json={**link, "password": "not the password at all"})
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "password_incorrect"
    assert not User.objects.get().email_verified

    assert client.post("/auth/email/verify", json={**link, "password": STRONG_PASSWORD}).status_code == 200
    assert User.objects.get().email_verified


def test_a_bearer_token_of_the_account_proves_it_and_one_of_another_does_not(client, attacker):
    user = User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD)
    link = last_link_to_after_resend(client, "grace@example.com")

    other = client.post("/auth/email/verify", json=link, headers=bearer(session_start(user=attacker).access))
    assert other.status_code == 403
    assert other.json()["code"] == "password_required"

    own = client.post("/auth/email/verify", json=link, headers=bearer(session_start(user=user).access))
    assert own.status_code == 200, own.json()
    assert User.objects.get(pk=user.pk).email_verified


def test_no_email_greets_with_a_name_a_stranger_typed(client):
    client.post(
        "/auth/register",
        json={"email": "victim@example.com", "password": STRONG_PASSWORD, "display_name": "Call +1 555 0100"},
    )
    client.post("/auth/register", json={"email": "victim@example.com", "password": STRONG_PASSWORD})
    client.post("/auth/password/reset", json={"email": "victim@example.com"})

    assert len(mail.outbox) == 3  # verification, sign-up attempt, reset
    assert all("555 0100" not in message.body for message in mail.outbox)
