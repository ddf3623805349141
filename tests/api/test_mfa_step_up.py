"""Step-up: each sensitive endpoint refuses an old sign-in, or an aal1 one of a user with a
second factor, with the methods that would do; and accepts after POST /api/auth/reauthenticate."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.models import User
from social.models import SocialAccount
from tests.accounts_helpers import STRONG_PASSWORD
from tests.api.test_accounts_api import signed_up
from tests.api.test_token_api import assert_problem
from tests.conftest import bearer
from tests.forge import claims_of
from tests.mfa_helpers import STEP, code_now, enrol, sign_in_with_recovery_code

pytestmark = pytest.mark.django_db


def delete_account(client, access):
    return client.delete("/users/me", headers=bearer(access))


def change_password(client, access):
    body = {"current_password": STRONG_PASSWORD, "new_password": "another long passphrase"}
    return client.post("/users/me/password", json=body, headers=bearer(access))


def unlink_identity(client, access):
    now = timezone.now()
    identity, _ = SocialAccount.objects.get_or_create(
        provider="google",
        subject="g-1",
        defaults={"user": User.objects.get(), "first_login_at": now, "last_login_at": now},
    )
    return client.delete(f"/users/me/identities/{identity.pk}", headers=bearer(access))


def remove_totp(client, access):
    return client.delete("/users/me/mfa/totp", headers=bearer(access))


def renew_recovery_codes(client, access):
    return client.post("/users/me/mfa/recovery-codes", headers=bearer(access))


SENSITIVE = [delete_account, change_password, unlink_identity, remove_totp, renew_recovery_codes]


def reauthenticate(client, access, **body):
    return client.post("/auth/reauthenticate", json=body, headers=bearer(access))


@pytest.mark.parametrize("action", SENSITIVE)
def test_an_aal1_session_of_a_user_with_a_factor_must_reauthenticate_with_it(client, action):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        aal1 = signed_up(client)["access"]
        secret, _ = enrol(client, aal1)

        refused = assert_problem(action(client, aal1), 403, "reauthentication_required")
        assert refused["methods"] == ["totp", "recovery_code"]
        # A password proves a first factor only: still aal1.
        by_password = reauthenticate(client, aal1, method="password", password=STRONG_PASSWORD)
        assert claims_of(by_password.json()["access"])["acr"] == "aal1"
        assert_problem(action(client, by_password.json()["access"]), 403, "reauthentication_required")

        clock.shift(STEP)
        stepped_up = reauthenticate(client, aal1, method="totp", code=code_now(secret))
        assert stepped_up.status_code == 200, stepped_up.json()
        assert claims_of(stepped_up.json()["access"])["sid"] == claims_of(aal1)["sid"]  # the same session
        assert action(client, stepped_up.json()["access"]).status_code in (200, 204)


@pytest.mark.parametrize("action", SENSITIVE)
def test_an_aal2_sign_in_grows_old(client, action, settings):
    _, codes = enrol(client, signed_up(client)["access"])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        strong = sign_in_with_recovery_code(client, codes[0]).json()
        clock.shift(timedelta(minutes=settings.ACCOUNTS_RECENT_SIGN_IN_MINUTES, seconds=1))
        assert_problem(action(client, strong["access"]), 403, "reauthentication_required")

        again = reauthenticate(client, strong["access"], method="recovery_code", code=codes[1])
        assert again.status_code == 200
        claims = claims_of(again.json()["access"])
        assert claims["auth_time"] == int(timezone.now().timestamp())
        assert (claims["amr"], claims["acr"]) == (["pwd", "otp", "mfa"], "aal2")
        assert action(client, again.json()["access"]).status_code in (200, 204)


def test_a_user_without_a_factor_reauthenticates_with_the_password(client, settings):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        pair = signed_up(client)
        clock.shift(timedelta(minutes=settings.ACCOUNTS_RECENT_SIGN_IN_MINUTES, seconds=1))
        refused = assert_problem(delete_account(client, pair["access"]), 403, "reauthentication_required")
        assert refused["methods"] == ["password"]
        assert_problem(
            reauthenticate(client, pair["access"], method="password", password="wrong"), 403, "password_incorrect"
        )
        fresh = reauthenticate(client, pair["access"], method="password", password=STRONG_PASSWORD)
        assert fresh.status_code == 200
        # The old refresh token was rotated: its successor is the new pair's.
        assert client.post("/auth/token/refresh", json={"refresh": fresh.json()["refresh"]}).status_code == 200
        assert delete_account(client, fresh.json()["access"]).status_code == 204


def test_a_wrong_code_does_not_reauthenticate(client):
    aal1 = signed_up(client)["access"]
    enrol(client, aal1)
    assert_problem(reauthenticate(client, aal1, method="recovery_code", code="nope"), 403, "mfa_code_invalid")
    assert_problem(reauthenticate(client, aal1, method="totp", code="000000"), 403, "mfa_code_invalid")
