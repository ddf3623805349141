"""A password reset racing the sign-ins of whoever knew the old password, and one reset link presented at once.

Found by outside attackers on a production-like server: sign-ins whose password check (Argon2, slow on
purpose) began before the reset committed started their sessions after the reset had ended every session,
and kept them; so did second steps (of sign-ins begun with the old password) completed while the reset ran;
four requests with one reset link were all answered 200.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from accounts import services
from accounts.errors import CredentialsInvalid, LinkInvalid
from core.models import User
from mfa import services as mfa_services
from mfa.errors import MfaRequired, MfaTokenInvalid
from tests.accounts_helpers import STRONG_PASSWORD, last_link_to
from tests.api.test_accounts_api import signed_up
from tests.mfa_helpers import enrol
from tokens.models import Session

pytestmark = [pytest.mark.concurrent_db, pytest.mark.django_db(transaction=True)]

EMAIL = "race@example.com"
NEW_PASSWORD = "the owner's new passphrase"
SIGN_INS = 6


def reset_link() -> dict[str, str]:
    services.password_reset_request(email=EMAIL)  # the task runs at once in tests (ImmediateBackend)
    return last_link_to(EMAIL)


def at_once(calls: list) -> list[str]:
    """Runs the calls in threads released together; what each did: its result's name, or its error's."""
    barrier = threading.Barrier(len(calls))

    def run(call) -> str:
        try:
            barrier.wait()
            call()
            return "done"
        except (CredentialsInvalid, LinkInvalid, MfaRequired, MfaTokenInvalid) as error:
            return type(error).__name__
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.parametrize("trial", range(2))
def test_no_sign_in_with_the_old_password_outlives_the_reset(trial, settings):
    # Argon2, as in production: its check is the window in which the reset commits.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = User.objects.create_user(email=EMAIL, password=STRONG_PASSWORD, email_verified=True)
    link = reset_link()

    def sign_in():
        services.account_password_sign_in(email=EMAIL, password=STRONG_PASSWORD)

    def reset():
        services.password_reset_confirm(**link, new_password=NEW_PASSWORD)

    outcomes = at_once([*[sign_in] * SIGN_INS, reset])

    assert outcomes[-1] == "done"
    # The reset's own session, and no other: sign-ins before it were ended by it, those after it refused.
    assert Session.objects.filter(user=user, ended_at__isnull=True).count() == 1, outcomes


@pytest.mark.parametrize("trial", range(2))
def test_no_second_step_of_a_sign_in_with_the_old_password_outlives_the_reset(trial, client):
    _, codes = enrol(client, signed_up(client, EMAIL)["access"])
    Session.objects.update(ended_at=timezone.now())  # the sign-up's session: not the race's
    mfa_tokens = []
    for _ in range(SIGN_INS):
        with pytest.raises(MfaRequired) as held_back:
            services.account_password_sign_in(email=EMAIL, password=STRONG_PASSWORD)
        mfa_tokens.append(held_back.value.extra["mfa_token"])
    link = reset_link()

    def second_step(mfa_token: str, code: str):
        return lambda: mfa_services.mfa_verify(mfa_token=mfa_token, method="recovery_code", code=code, binding=None)

    def reset():
        services.password_reset_confirm(**link, new_password=NEW_PASSWORD)

    outcomes = at_once([*map(second_step, mfa_tokens, codes), reset])

    assert outcomes[-1] == "MfaRequired"  # the reset of a user with a second factor asks for it too
    # Second steps before the reset were ended by it, those after it refused.
    assert not Session.objects.filter(ended_at__isnull=True).exists(), outcomes


def test_one_reset_link_presented_at_once_resets_once():
    User.objects.create_user(email=EMAIL, password=STRONG_PASSWORD, email_verified=True)
    link = reset_link()
    mail.outbox.clear()

    def reset():
        services.password_reset_confirm(**link, new_password=NEW_PASSWORD)

    outcomes = at_once([reset] * 4)

    assert sorted(outcomes) == ["LinkInvalid"] * 3 + ["done"]
    assert Session.objects.filter(ended_at__isnull=True).count() == 1
