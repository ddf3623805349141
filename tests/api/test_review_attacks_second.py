"""What a second attack on a production-like server found after issue 25's fixes, each replayed and refused:
an account oracle through a NUL in the display name, a 500 for an address too long once encoded, a quoted
local part as a second account for one mailbox, unlimited guesses at the current password with a stolen
access token, and token answers that a cache could keep."""

import json

import pytest
from django.test import Client

from core.models import User
from tests.accounts_helpers import STRONG_PASSWORD
from tests.api.test_review_attacks import assert_problem, one_window  # noqa: F401 (a fixture)
from tests.conftest import bearer
from tokens.services import session_start

pytestmark = pytest.mark.django_db


def register(client, **body):
    return client.post("/auth/register", json={"password": STRONG_PASSWORD, **body})


@pytest.fixture
def existing(db) -> User:
    return User.objects.create_user(email="victim@example.com", password=STRONG_PASSWORD, email_verified=True)


@pytest.mark.parametrize("name", ["x\u0000", "line\r\nBcc: x", "\u202eevil", "tab\there"])
@pytest.mark.parametrize("email", ["victim@example.com", "nobody@example.com"])
def test_a_display_name_with_control_characters_is_422_whether_or_not_the_address_has_an_account(
    client, existing, email, name
):
    # Known address: 202 with nothing written; unknown: a 500 from the database. Now one answer, before either.
    assert_problem(register(client, email=email, display_name=name), 422, "validation_error")
    assert User.objects.count() == 1


def test_a_display_name_in_hangul_with_an_emoji_sequence_is_kept(client):
    name = "김하늘 👩‍💻"  # the zero-width joiner is not a control character
    assert register(client, email="sky@example.com", display_name=name).status_code == 202
    assert User.objects.get(email="sky@example.com").display_name == name


def test_an_address_too_long_once_its_domain_is_encoded_is_422_not_500(client):
    labels = ".".join("漢字仮名交じり文漢字仮名交じり文漢字" for _ in range(4))
    email = "a" * 60 + "@" + labels + ".com"
    assert len(email) <= 254  # the schema's limit holds on the raw input

    assert_problem(register(client, email=email), 422, "email_invalid")
    assert not User.objects.exists()


def test_a_quoted_local_part_is_not_a_second_account_for_the_same_mailbox(client, existing):
    assert_problem(register(client, email='"victim"@example.com'), 422, "email_invalid")
    assert User.objects.count() == 1


def test_guesses_at_the_current_password_with_a_stolen_access_token_are_limited(client, existing, one_window):  # noqa: F811
    pair = session_start(user=existing)  # the thief's copy
    statuses = [
        client.post(
            "/users/me/password",
            json={"current_password": f"guess {n}", "new_password": "the thief's passphrase"},
            headers=bearer(pair.access),
        ).status_code
        for n in range(12)
    ]

    # API_THROTTLE_SIGN_IN_EMAIL: 10 failures per 15 minutes, counted per account.
    assert statuses == [403] * 10 + [429] * 2
    wrong_delete = client.delete("/users/me", json={"password": "guess"}, headers=bearer(pair.access))
    assert_problem(wrong_delete, 429, "throttled")
    existing.refresh_from_db()
    assert existing.check_password(STRONG_PASSWORD)


def test_token_answers_and_profiles_are_not_stored_by_caches(existing):
    browser = Client()
    signed_in = browser.post(
        "/api/auth/token",
        json.dumps({"email": "victim@example.com", "password": STRONG_PASSWORD}),
        content_type="application/json",
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert signed_in.status_code == 200
    assert signed_in["Cache-Control"] == "no-store"
    me = browser.get("/api/users/me", HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['access']}")
    assert me["Cache-Control"] == "no-store"
    assert browser.get("/api/nowhere")["Cache-Control"] == "no-store"
    # An endpoint that says how long it may be cached keeps its own word.
    assert "max-age" in browser.get("/.well-known/jwks.json")["Cache-Control"]


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/password/reset", "/api/auth/email/verify/resend"])
def test_a_lone_surrogate_in_the_address_is_422_not_a_500_in_the_throttle(path):
    # Valid JSON (RFC 8259 lets \\udc00 stand alone) that no UTF-8 encoder takes: the per-address limit hashed
    # it before the schema refused it.
    response = Client().post(path, b'{"email": "\\udc00", "password": "x"}', content_type="application/json")
    assert_problem(response, 422, "validation_error")


def test_a_utf8_user_agent_is_stored_as_written(existing):
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (가나다)".encode().decode("latin-1"))  # as WSGI hands it over
    signed_in = client.post(
        "/api/auth/token",
        json.dumps({"email": "victim@example.com", "password": STRONG_PASSWORD}),
        content_type="application/json",
        HTTP_X_REQUESTED_WITH="fetch",
    )
    sessions = client.get("/api/auth/sessions", HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['access']}")
    assert sessions.json()["items"][0]["user_agent"] == "Mozilla/5.0 (가나다)"
