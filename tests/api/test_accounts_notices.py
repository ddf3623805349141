"""Security notices (accounts.notices) and their toggles (GET/PATCH /api/users/me/notices)."""

import secrets
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.devices import device_token_read
from accounts.notices import NOTICE_KINDS
from config.api import api
from core.models import User
from social.models import SocialAccount
from tests import passkeys_helpers as passkeys
from tests import social_mocks as mocks
from tests.accounts_helpers import STRONG_PASSWORD, last_link_to
from tests.api.test_accounts_api import sign_in, signed_up
from tests.api.test_accounts_codes import code_request, code_to, confirm
from tests.api.test_accounts_delete import kakao_admin, kakao_unlink_callback  # noqa: F401 (a fixture)
from tests.api.test_social_token_api import RAW_NONCE, google_id_token
from tests.api.test_token_api import assert_problem
from tests.conftest import BrowserTestClient, bearer
from tests.passkeys_helpers import webauthn_on  # noqa: F401 (a fixture)
from tokens.models import Session

pytestmark = pytest.mark.django_db

NEW_DEVICE = "New sign-in to your account"
PASSWORD_CHANGED = "Your password was changed"


@pytest.fixture
def grace(db) -> User:
    return User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD, email_verified=True)


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def signed_in(client) -> dict:
    """A password sign-in, its new-device notice cleared."""
    response = sign_in(client)
    assert response.status_code == 200
    mail.outbox.clear()
    return response.json()


def turn_off(client, access: str, kind: str) -> None:
    response = client.patch("/users/me/notices", json={kind: False}, headers=bearer(access))
    assert response.status_code == 200
    assert response.json()[kind] is False


# --- the toggles ---------------------------------------------------------------------------------


def test_every_kind_is_on_until_turned_off_and_others_stay(client, grace):
    access = signed_in(client)["access"]
    assert client.get("/users/me/notices", headers=bearer(access)).json() == dict.fromkeys(NOTICE_KINDS, True)

    turn_off(client, access, "new_device")
    answer = client.patch("/users/me/notices", json={"password_changed": False}, headers=bearer(access)).json()
    assert answer == {**dict.fromkeys(NOTICE_KINDS, True), "new_device": False, "password_changed": False}

    answer = client.patch("/users/me/notices", json={"new_device": True}, headers=bearer(access)).json()
    assert [kind for kind, on in answer.items() if not on] == ["password_changed"]


def test_an_unknown_kind_is_refused_and_nothing_changes(client, grace):
    access = signed_in(client)["access"]
    response = client.patch("/users/me/notices", json={"new_device": False, "weather": True}, headers=bearer(access))
    assert_problem(response, 422, "notice_kind_unknown")
    assert client.get("/users/me/notices", headers=bearer(access)).json()["new_device"] is True


def test_turning_a_notice_off_needs_a_recent_sign_in_and_turning_one_on_does_not(client, grace, settings):
    """A stolen, older session must not silence the notices that would tell the owner (found by the attacker)."""
    access = signed_in(client)["access"]
    Session.objects.update(auth_time=timezone.now() - timedelta(minutes=settings.ACCOUNTS_RECENT_SIGN_IN_MINUTES + 1))

    off = client.patch("/users/me/notices", json={"new_device": False}, headers=bearer(access))

    assert_problem(off, 403, "reauthentication_required")
    assert client.get("/users/me/notices", headers=bearer(access)).json()["new_device"] is True
    assert client.patch("/users/me/notices", json={"new_device": True}, headers=bearer(access)).status_code == 200


def test_the_toggles_need_a_bearer_token(client, db):
    assert_problem(client.get("/users/me/notices"), 401, "not_authenticated")


# --- new device ---------------------------------------------------------------------------------


def test_a_password_sign_in_from_a_new_device_sends_one_notice_and_a_known_one_none(client, grace):
    first = client.post(
        "/auth/token",
        json={"email": "grace@example.com", "password": STRONG_PASSWORD},
        headers={"User-Agent": "Urgent: call +1 555 0100"},
    )
    assert subjects() == [NEW_DEVICE]
    notice = mail.outbox[0]
    # The client's IP, never its User-Agent: whoever signs in writes that.
    assert "127.0.0.1" in notice.body
    assert "555" not in notice.body
    assert "http" not in notice.body
    assert "token" not in notice.body.lower()
    mail.outbox.clear()

    # The browser's `device` cookie (the client keeps it) marks the device as known.
    assert sign_in(client).status_code == 200
    assert not mail.outbox
    # An app sends the device token in the body instead; a client with neither is new again.
    client.cookies.clear()
    client.post(
        "/auth/token",
        json={"email": "grace@example.com", "password": STRONG_PASSWORD, "device_token": first.json()["device_token"]},
    )
    assert not mail.outbox
    client.cookies.clear()
    sign_in(client)
    assert subjects() == [NEW_DEVICE]


def test_another_accounts_device_token_is_a_new_device(client, grace):
    User.objects.create_user(email="ada@example.com", password=STRONG_PASSWORD, email_verified=True)
    sign_in(client, "ada@example.com")
    mail.outbox.clear()
    sign_in(client)  # the cookie names Ada's account
    assert subjects() == [NEW_DEVICE]


def test_a_password_reset_or_change_forgets_every_device_but_the_one_it_came_from(client, grace):
    """Whoever took a device token while they held the account gets noticed once the owner takes it back."""
    app_token = signed_in(client)["device_token"]
    signed_in(client)  # and the `device` cookie, as a browser keeps it
    owners_browser = BrowserTestClient(api)

    owners_browser.post("/auth/password/reset", json={"email": "grace@example.com"})
    link = last_link_to("grace@example.com")
    mail.outbox.clear()
    reset = owners_browser.post("/auth/password/reset/confirm", json={**link, "new_password": STRONG_PASSWORD})
    assert reset.status_code == 200
    assert reset.json()["device_token"] == owners_browser.cookies["__Host-device"]
    assert subjects() == [PASSWORD_CHANGED]
    mail.outbox.clear()

    # The devices of before the reset are new ones, the browser of the reset a known one.
    assert sign_in(client).status_code == 200
    assert subjects() == [NEW_DEVICE]
    mail.outbox.clear()
    client.cookies.clear()
    body = {"email": "grace@example.com", "password": STRONG_PASSWORD, "device_token": app_token}
    assert client.post("/auth/token", json=body).status_code == 200
    assert subjects() == [NEW_DEVICE]
    mail.outbox.clear()
    access = sign_in(owners_browser).json()["access"]
    assert not mail.outbox

    # A change answers the browser that made it a device cookie of the new password; the others are new again.
    body = {"current_password": STRONG_PASSWORD, "new_password": "another horse battery staple"}
    assert owners_browser.post("/users/me/password", json=body, headers=bearer(access)).status_code == 204
    mail.outbox.clear()
    assert sign_in(owners_browser, password="another horse battery staple").status_code == 200
    assert not mail.outbox
    assert sign_in(client, password="another horse battery staple").status_code == 200
    assert subjects() == [NEW_DEVICE]


def test_a_code_sign_in_from_a_new_device_sends_one_notice_and_a_known_one_none(client, grace):
    code_request(client)
    confirm(client, code_to("grace@example.com"))
    assert subjects() == ["Your sign-in code", NEW_DEVICE]
    mail.outbox.clear()
    code_request(client)
    confirm(client, code_to("grace@example.com"))
    assert subjects() == ["Your sign-in code"]


def test_no_new_device_notice_when_turned_off(client, grace):
    turn_off(client, signed_in(client)["access"], "new_device")
    client.cookies.clear()
    assert sign_in(client).status_code == 200
    assert not mail.outbox


@pytest.mark.usefixtures("social")
def test_a_provider_sign_in_from_a_new_device_sends_one_notice_and_a_known_one_none(client, rsps):
    created = mocks.login_kakao(client, rsps)
    assert created.json()["created"] is True
    assert not mail.outbox  # the sign-in that made the account is no news to its owner
    assert device_token_read(created.json()["device_token"]).user_id == User.objects.get().pk

    # The `device` cookie of that sign-in marks the browser as known; without it, the device is new.
    assert mocks.login_kakao(client, rsps).status_code == 200
    assert not mail.outbox
    client.cookies.clear()
    assert mocks.login_kakao(client, rsps).status_code == 200
    assert subjects() == [NEW_DEVICE]


@pytest.mark.usefixtures("social")
def test_a_native_apps_provider_sign_in_sends_its_device_token_back_or_gets_a_notice(client, rsps):
    mocks.GOOGLE.mock_metadata(rsps)

    def sign_in_with_google(**body: str):
        # A new id_token each time, as the SDK gives: one is accepted once.
        id_token = google_id_token(email="ada@gmail.com", jti=secrets.token_urlsafe(8))
        response = client.post("/auth/social/google/token", json={"id_token": id_token, "nonce": RAW_NONCE, **body})
        assert response.status_code == 200, response.json()
        return response.json()

    first = sign_in_with_google()
    assert first["created"] is True
    assert not mail.outbox
    sign_in_with_google(device_token=first["device_token"])
    assert not mail.outbox
    sign_in_with_google()
    assert subjects() == [NEW_DEVICE]


@pytest.mark.usefixtures("webauthn_on")
def test_a_passkey_sign_in_from_a_new_device_sends_one_notice_and_a_known_one_none(client, grace):
    device = passkeys.registered(client, signed_in(client)["access"])
    client.cookies.clear()
    mail.outbox.clear()

    first = passkeys.sign_in(client, device)
    assert first.status_code == 200
    assert subjects() == [NEW_DEVICE]
    mail.outbox.clear()
    assert passkeys.sign_in(client, device).status_code == 200  # the browser's `device` cookie
    client.cookies.clear()
    started = passkeys.sign_in_options(client)
    known = client.post(  # an app, with the device token of its first sign-in
        "/auth/webauthn",
        json={
            "challenge_id": started["challenge_id"],
            "credential": device.get(started["options"]),
            "device_token": first.json()["device_token"],
        },
    )
    assert known.status_code == 200
    assert not mail.outbox


# --- the other changes ---------------------------------------------------------------------------


def test_a_password_change_sends_one_notice_or_none_when_turned_off(client, grace):
    access = signed_in(client)["access"]
    body = {"current_password": STRONG_PASSWORD, "new_password": "another horse battery staple"}
    assert client.post("/users/me/password", json=body, headers=bearer(access)).status_code == 204
    assert subjects() == [PASSWORD_CHANGED]

    mail.outbox.clear()
    turn_off(client, access, "password_changed")
    body = {"current_password": "another horse battery staple", "new_password": STRONG_PASSWORD}
    assert client.post("/users/me/password", json=body, headers=bearer(access)).status_code == 204
    assert not mail.outbox


def test_a_reset_sends_one_notice(client, grace):
    client.post("/auth/password/reset", json={"email": "grace@example.com"})
    link = last_link_to("grace@example.com")
    mail.outbox.clear()
    response = client.post("/auth/password/reset/confirm", json={**link, "new_password": "another horse battery"})
    assert response.status_code == 200
    assert subjects() == [PASSWORD_CHANGED]


def test_unlinking_an_identity_sends_one_notice_or_none_when_turned_off(client, grace):
    now = timezone.now()
    for subject in ("1", "2"):
        SocialAccount.objects.create(
            user=grace, provider="google", subject=subject, first_login_at=now, last_login_at=now
        )
    access = signed_in(client)["access"]
    first, second = SocialAccount.objects.order_by("pk")

    assert client.delete(f"/users/me/identities/{first.pk}", headers=bearer(access)).status_code == 204
    (notice,) = mail.outbox
    assert notice.subject == "A sign-in method was removed from your account"
    assert "google" in notice.body

    mail.outbox.clear()
    turn_off(client, access, "identity_unlinked")
    assert client.delete(f"/users/me/identities/{second.pk}", headers=bearer(access)).status_code == 204
    assert not mail.outbox


@pytest.mark.usefixtures("social")
def test_kakaos_unlink_callback_sends_one_notice(client, django_client, rsps, kakao_admin):  # noqa: F811
    signed_up(client, "minji@kakao.example")
    mocks.login_kakao(client, rsps)  # links to the verified address, from a browser new to the account
    assert sorted(subjects()[-2:]) == ["A sign-in method was linked to your account", NEW_DEVICE]
    mail.outbox.clear()

    assert kakao_unlink_callback(django_client).status_code == 200

    assert subjects() == ["A sign-in method was removed from your account"]
    assert "kakao" in mail.outbox[0].body


def test_a_deleted_account_gets_no_notice_when_turned_off(client, grace):
    access = signed_in(client)["access"]
    turn_off(client, access, "account_deleted")
    assert client.delete("/users/me", headers=bearer(access)).status_code == 204
    assert not mail.outbox
