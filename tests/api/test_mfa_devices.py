"""A sign-in held back for its second factor hands out its device token, and sends the new-device notice,
when the second step completes it (POST /api/auth/mfa/verify), as any other password or code sign-in does."""

import pytest
from django.core import mail

from accounts.devices import device_token_read
from core.models import User
from mfa import services
from mfa.errors import MfaRequired
from mfa.models import MfaChallenge
from tests.accounts_helpers import STRONG_PASSWORD
from tests.api.test_accounts_api import sign_in, signed_up
from tests.api.test_accounts_codes import code_request, code_to, confirm
from tests.api.test_accounts_notices import NEW_DEVICE, subjects
from tests.mfa_helpers import code_now, mfa_token_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def codes(db) -> list[str]:
    """Grace has TOTP; her recovery codes, one per completed sign-in (no clock to move)."""
    user = User.objects.create_user(email="grace@example.com", password=STRONG_PASSWORD, email_verified=True)
    secret = services.totp_begin(user_id=user.pk, principal=None)["secret"]
    codes = services.totp_confirm(user_id=user.pk, principal=None, code=code_now(secret))
    mail.outbox.clear()  # the factor's own notice
    return codes


def device_cookie(client) -> str | None:
    return next((value for name, value in client.cookies.items() if name.endswith("device")), None)


def verified(client, held_back, code: str) -> dict:
    response = client.post(
        "/auth/mfa/verify", json={"mfa_token": mfa_token_of(held_back), "method": "recovery_code", "code": code}
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_password_sign_in_from_a_new_device_gets_its_device_token_and_notice_at_the_second_step(client, codes):
    held_back = sign_in(client)
    assert not mail.outbox  # nothing yet: the sign-in is not done
    assert device_cookie(client) is None

    body = verified(client, held_back, codes[0])

    assert subjects() == [NEW_DEVICE]
    device = device_token_read(body["device_token"])
    assert device is not None
    assert device.user_id == User.objects.get().pk
    assert device_cookie(client) == body["device_token"]
    mail.outbox.clear()

    # The browser's `device` cookie now marks the device as known: no notice the next time.
    verified(client, sign_in(client), codes[1])
    assert not mail.outbox


def test_an_app_sending_its_device_token_gets_no_notice(client, codes):
    first = verified(client, sign_in(client), codes[0])
    client.cookies.clear()
    mail.outbox.clear()

    held_back = client.post(
        "/auth/token",
        json={"email": "grace@example.com", "password": STRONG_PASSWORD, "device_token": first["device_token"]},
    )
    body = verified(client, held_back, codes[1])

    assert not mail.outbox
    assert device_token_read(body["device_token"]) is not None


def test_an_emailed_code_sign_in_gets_its_device_token_and_notice_at_the_second_step(client, codes):
    code_request(client)
    held_back = confirm(client, code_to("grace@example.com"))
    assert subjects() == ["Your sign-in code"]

    body = verified(client, held_back, codes[0])

    assert subjects() == ["Your sign-in code", NEW_DEVICE]
    assert device_token_read(body["device_token"]) is not None


def test_a_first_factor_without_device_tokens_gets_none_at_the_second_step(client, codes):
    # As a provider's or a passkey's sign-in: the gate is not told about a device.
    with pytest.raises(MfaRequired) as gated:
        services.sign_in(user=User.objects.get(), amr=["fed"], bind_to_browser=False)
    assert MfaChallenge.objects.get().new_device is None

    response = client.post(
        "/auth/mfa/verify",
        json={"mfa_token": gated.value.extra["mfa_token"], "method": "recovery_code", "code": codes[0]},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["device_token"] is None
    assert device_cookie(client) is None
    assert not mail.outbox


def test_a_sign_in_held_back_for_enrolment_gets_its_device_token_and_notice_when_enrolled(client, settings):
    signed_up(client)  # the verification link's sign-in hands out no device token
    settings.AUTH_MFA_REQUIRED = "all"
    mail.outbox.clear()
    held_back = sign_in(client)
    assert held_back.json()["code"] == "mfa_enrollment_required"
    mfa_token = held_back.json()["mfa_token"]
    secret = client.post("/auth/mfa/totp", json={"mfa_token": mfa_token}).json()["secret"]

    done = client.post("/auth/mfa/totp/confirm", json={"mfa_token": mfa_token, "code": code_now(secret)})

    assert done.status_code == 200, done.json()
    assert device_token_read(done.json()["device_token"]) is not None
    assert device_cookie(client) == done.json()["device_token"]
    assert NEW_DEVICE in subjects()
