"""The sign-in gate: every first-factor sign-in of a user with a second factor answers
mfa_required and no tokens; the mfa_token's expiry, single use, binding and failure limit."""

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.devices import device_token_read
from config.api import api
from core.models import User
from mfa import services
from tests import social_mocks as mocks
from tests.accounts_helpers import STRONG_PASSWORD, last_link_to
from tests.api.test_accounts_api import register, sign_in, signed_up
from tests.api.test_accounts_identities import google_login
from tests.api.test_social_token_api import RAW_NONCE, google_id_token
from tests.api.test_token_api import assert_problem
from tests.conftest import BrowserTestClient, bearer
from tests.forge import claims_of
from tests.mfa_helpers import STEP, code_now, enrol, mfa_token_of, verify
from tokens.models import Session

pytestmark = pytest.mark.django_db


def enrolled_by_service(user: User) -> str:
    secret = services.totp_begin(user_id=user.pk, principal=None)["secret"]
    services.totp_confirm(user_id=user.pk, principal=None, code=code_now(secret))
    return secret


def assert_gated(response) -> str:
    body = response.json()
    assert response.status_code == 403, body
    assert body["code"] == "mfa_required"
    assert body["methods"] == ["totp", "recovery_code"]
    assert not {"access", "refresh"} & set(body)
    return body["mfa_token"]


def test_password_sign_in_answers_mfa_required_and_starts_no_session(client):
    enrol(client, signed_up(client)["access"])
    sessions = Session.objects.count()
    assert_gated(sign_in(client))
    assert Session.objects.count() == sessions


def test_email_verification_of_a_user_with_a_factor_is_gated(client):
    register(client)
    enrolled_by_service(User.objects.get())
    response = client.post(
        "/auth/email/verify", json={**last_link_to("grace@example.com"), "password": STRONG_PASSWORD}
    )
    assert_gated(response)
    assert User.objects.get().email_verified  # the link did its part


def test_password_reset_confirm_of_a_user_with_a_factor_is_gated(client):
    secret, _ = enrol(client, signed_up(client)["access"])
    client.post("/auth/password/reset", json={"email": "grace@example.com"})
    with time_machine.travel(timezone.now(), tick=False) as clock:
        clock.shift(STEP)
        link = last_link_to("grace@example.com")
        response = client.post("/auth/password/reset/confirm", json={**link, "new_password": "a new long passphrase"})
        pair = verify(client, assert_gated(response), code_now(secret))
    assert pair.status_code == 200
    # The emailed link is a one-time secret too (docs/mfa.md): `otp` once, then `mfa`.
    assert claims_of(pair.json()["access"])["amr"] == ["otp", "mfa"]
    # The device token of the new password comes with the second step, with no new-device notice.
    assert device_token_read(pair.json()["device_token"]) is not None
    assert "New sign-in to your account" not in [message.subject for message in mail.outbox]


def test_a_second_step_begun_with_the_password_before_it_changed_is_refused(client):
    secret, _ = enrol(client, signed_up(client)["access"])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        clock.shift(STEP)
        mfa_token = assert_gated(sign_in(client))
        user = User.objects.get()
        user.set_password("the owner's new passphrase")
        user.save()  # a reset or change, the admin's or a shell's alike (accounts.signals)

        assert_problem(verify(client, mfa_token, code_now(secret)), 401, "mfa_token_invalid")


@pytest.mark.usefixtures("social")
def test_social_callback_and_native_token_sign_ins_are_gated(client, rsps):
    first = google_login(client, rsps, email="ada@gmail.com")
    assert first.status_code == 200, first.json()
    secret, _ = enrol(client, first.json()["access"])
    assert_gated(google_login(client, rsps, email="ada@gmail.com"))

    mocks.GOOGLE.mock_metadata(rsps)
    native = client.post(
        "/auth/social/google/token", json={"id_token": google_id_token(email="ada@gmail.com"), "nonce": RAW_NONCE}
    )
    with time_machine.travel(timezone.now(), tick=False) as clock:
        clock.shift(STEP)
        pair = verify(client, assert_gated(native), code_now(secret))
    assert pair.status_code == 200
    claims = claims_of(pair.json()["access"])
    assert (claims["amr"], claims["acr"]) == (["fed", "otp", "mfa"], "aal2")


def test_verify_answers_the_pair_at_aal2(client):
    secret, _ = enrol(client, signed_up(client)["access"])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        clock.shift(STEP)
        response = verify(client, mfa_token_of(sign_in(client)), code_now(secret))
    assert response.status_code == 200
    claims = claims_of(response.json()["access"])
    assert (claims["amr"], claims["acr"]) == (["pwd", "otp", "mfa"], "aal2")
    assert client.get("/users/me", headers=bearer(response.json()["access"])).status_code == 200


def test_an_mfa_token_expires(client, settings):
    settings.MFA_TOKEN_TTL = 60
    _, codes = enrol(client, signed_up(client)["access"])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        mfa_token = mfa_token_of(sign_in(client))
        clock.shift(61)
        assert_problem(verify(client, mfa_token, codes[0], method="recovery_code"), 401, "mfa_token_invalid")


def test_an_mfa_token_is_single_use(client):
    _, codes = enrol(client, signed_up(client)["access"])
    mfa_token = mfa_token_of(sign_in(client))
    assert verify(client, mfa_token, codes[0], method="recovery_code").status_code == 200
    assert_problem(verify(client, mfa_token, codes[1], method="recovery_code"), 401, "mfa_token_invalid")


def test_an_mfa_token_dies_after_five_wrong_codes(client):
    _, codes = enrol(client, signed_up(client)["access"])
    mfa_token = mfa_token_of(sign_in(client))
    for _ in range(5):
        assert_problem(verify(client, mfa_token, "wrong-code", method="recovery_code"), 403, "mfa_code_invalid")
    assert_problem(verify(client, mfa_token, codes[0], method="recovery_code"), 401, "mfa_token_invalid")
    # The code was not spent on the dead token.
    assert verify(client, mfa_token_of(sign_in(client)), codes[0], method="recovery_code").status_code == 200


def test_an_unknown_mfa_token_is_refused(client):
    _, codes = enrol(client, signed_up(client)["access"])
    assert_problem(verify(client, "made-up", codes[0], method="recovery_code"), 401, "mfa_token_invalid")


def test_in_cookie_mode_the_mfa_token_works_only_in_its_browser(client, settings):
    settings.JWT_REFRESH_TRANSPORT = "cookie"
    _, codes = enrol(client, signed_up(client)["access"])
    gated = sign_in(client)
    assert "__Host-mfa_binding" in client.cookies
    mfa_token = mfa_token_of(gated)

    elsewhere = BrowserTestClient(api)
    assert_problem(verify(elsewhere, mfa_token, codes[0], method="recovery_code"), 401, "mfa_token_invalid")

    response = verify(client, mfa_token, codes[0], method="recovery_code")
    assert response.status_code == 200
    assert response.json()["refresh"] is None
    assert "__Host-refresh_token" in client.cookies
    assert "__Host-mfa_binding" not in client.cookies


def test_a_disabled_user_cannot_finish_the_second_step(client):
    _, codes = enrol(client, signed_up(client)["access"])
    mfa_token = mfa_token_of(sign_in(client))
    User.objects.update(is_active=False)
    assert_problem(verify(client, mfa_token, codes[0], method="recovery_code"), 403, "account_disabled")
