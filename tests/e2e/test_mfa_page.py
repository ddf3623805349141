"""Second factors on the sign-in page in Chromium (docs/mfa.md#on-the-page): enrol TOTP from the QR code's key,
sign in with the password and a code, sign in with a recovery code, and the step-up prompt before removing TOTP."""

import re
import time
from datetime import timedelta

import pyotp
import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from mfa import services
from mfa.models import MfaChallenge, TotpDevice
from tests.e2e.test_accounts import password_user, sign_in_with_password
from tests.e2e.test_passkeys import virtual_authenticator, webauthn_stack  # noqa: F401 (a fixture)
from tokens.models import Session

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STEP = 30


def code_at(secret: str, steps_ahead: int) -> str:
    """The code of a time step near now: each code is accepted once, for a step later than the last used one,
    within ±1 step of the server's clock, so successive proofs in one test use successive steps."""
    return pyotp.TOTP(secret).at(time.time() + steps_ahead * STEP)


def test_enrol_totp_on_the_page_then_sign_in_with_the_password_and_a_code(page: Page, screenshot):
    password_user()
    page.goto("/")
    sign_in_with_password(page, "grace@example.com")
    expect(page.locator("#mfa-state")).to_contain_text("No authenticator app")

    page.get_by_role("button", name="Set up an authenticator app").click()
    qr = page.get_by_role("img", name="QR code of the key for your authenticator app")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml;")
    # Drawn: the SVG decoded into an image under the page's CSP.
    assert qr.evaluate("image => image.complete && image.naturalWidth > 0")
    secret = page.locator("#totp-secret").text_content()
    screenshot(page, "mfa-totp-setup")

    page.get_by_label("Code from the app").fill(code_at(secret, 0))
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#recovery-code-list li")).to_have_count(10)
    expect(page.locator("#notice")).to_contain_text("Authenticator app on")
    expect(page.locator("#recovery-codes-left")).to_have_text("Recovery codes left: 10")
    assert TotpDevice.objects.get().confirmed_at is not None
    expect(page.get_by_role("button", name="Copy the codes")).to_be_visible()

    page.get_by_role("button", name="Log out", exact=True).click()
    sign_in_with_password(page, "grace@example.com")
    expect(page.locator("#factor-prompt")).to_be_visible()
    expect(page.locator("#factor-intro")).to_contain_text("A second step")
    screenshot(page, "mfa-prompt")

    # A wrong code is shown, and the prompt stays for another try.
    page.get_by_label("Code from your authenticator app").fill("000000" if code_at(secret, 1) != "000000" else "111111")
    page.get_by_role("button", name="Verify the code").click()
    expect(page.locator("#problem-code")).to_have_text("mfa_code_invalid")
    expect(page.locator("#factor-prompt")).to_be_visible()

    page.get_by_label("Code from your authenticator app").fill(code_at(secret, 1))
    page.get_by_role("button", name="Verify the code").click()
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#user-email")).to_have_text("grace@example.com")
    assert Session.objects.get(ended_at__isnull=True).acr == "aal2"


def test_a_recovery_code_signs_in_and_removing_totp_asks_again(page: Page):
    user = password_user()
    secret = services.totp_begin(user_id=user.pk, principal=None)["secret"]
    # The step before now (within the skew), so that the page's code for now is a later step.
    recovery_codes = services.totp_confirm(user_id=user.pk, principal=None, code=code_at(secret, -1))

    page.goto("/")
    sign_in_with_password(page, "grace@example.com")
    page.get_by_label("Recovery code").fill(recovery_codes[0].upper())
    page.get_by_role("button", name="Use the recovery code").click()
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#recovery-codes-left")).to_have_text("Recovery codes left: 9")

    # The sign-in is now older than ACCOUNTS_RECENT_SIGN_IN_MINUTES: removing a factor asks for a proof first.
    Session.objects.filter(user=user).update(auth_time=timezone.now() - timedelta(hours=1))
    page.get_by_role("button", name="Remove the authenticator app").click()
    expect(page.locator("#factor-prompt")).to_be_visible()
    expect(page.locator("#factor-intro")).to_contain_text("This action needs a recent sign-in")
    expect(page.locator("#factor-password-form")).to_be_hidden()

    page.get_by_label("Code from your authenticator app").fill(code_at(secret, 0))
    page.get_by_role("button", name="Verify the code").click()
    # The removal was retried with the fresh pair, and went through.
    expect(page.locator("#notice")).to_have_text("Authenticator app removed.")
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.get_by_role("button", name="Set up an authenticator app")).to_be_visible()
    assert not TotpDevice.objects.filter(user=user).exists()
    assert Session.objects.get(user=user, ended_at__isnull=True).auth_time > timezone.now() - timedelta(minutes=1)


def test_an_expired_mfa_token_starts_the_sign_in_again(page: Page):
    user = password_user()
    secret = services.totp_begin(user_id=user.pk, principal=None)["secret"]
    services.totp_confirm(user_id=user.pk, principal=None, code=code_at(secret, -1))

    page.goto("/")
    sign_in_with_password(page, "grace@example.com")
    expect(page.locator("#factor-prompt")).to_be_visible()
    MfaChallenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    page.get_by_label("Code from your authenticator app").fill(code_at(secret, 0))
    page.get_by_role("button", name="Verify the code").click()
    expect(page.locator("#problem-code")).to_have_text("mfa_token_invalid")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#factor-prompt")).to_be_hidden()


def test_a_required_second_factor_is_set_up_before_the_first_sign_in(page: Page, settings):
    settings.AUTH_MFA_REQUIRED = "all"
    password_user()
    page.goto("/")
    sign_in_with_password(page, "grace@example.com")
    expect(page.locator("#factor-intro")).to_contain_text("This account must have a second step")
    expect(page.locator("#factor-recovery_code-form")).to_be_hidden()
    qr = page.get_by_role("img", name="QR code of the key for your authenticator app")
    expect(qr).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;"))
    secret = page.locator("#factor-secret").text_content()

    page.get_by_label("Code from your authenticator app").fill(code_at(secret, 0))
    page.get_by_role("button", name="Verify the code").click()
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#recovery-code-list li")).to_have_count(10)
    expect(page.locator("#mfa-state")).to_contain_text("An authenticator app gives your second step")
    assert Session.objects.get(ended_at__isnull=True).acr == "aal2"


@pytest.mark.usefixtures("webauthn_stack")
def test_a_security_key_answers_the_second_step(page: Page):
    cdp, authenticator_id = virtual_authenticator(page)
    password_user()
    page.goto("/")
    sign_in_with_password(page, "grace@example.com")
    page.get_by_role("button", name="Register a passkey").click()
    expect(page.locator("#passkeys tr")).to_have_count(1)
    page.get_by_role("button", name="Log out", exact=True).click()

    # The password is the first factor; the key registered above is the second. The person types the
    # password rather than pick the passkey the email field's autofill offers: the authenticator stays
    # untouched until the prompt asks for it.
    presence = {"authenticatorId": authenticator_id, "enabled": False}
    cdp.send("WebAuthn.setAutomaticPresenceSimulation", presence)
    sign_in_with_password(page, "grace@example.com")
    expect(page.locator("#factor-prompt")).to_be_visible()
    expect(page.locator("#factor-totp-form")).to_be_hidden()
    cdp.send("WebAuthn.setAutomaticPresenceSimulation", {**presence, "enabled": True})
    page.get_by_role("button", name="Use a security key or passkey").click()
    expect(page.locator("#signed-in")).to_be_visible()
    # One session: the email field's passkey autofill, pending since the sign-out, ended with the prompt.
    open_sessions = Session.objects.filter(ended_at__isnull=True)
    assert [(session.amr[0], session.acr) for session in open_sessions] == [("pwd", "aal2")]


def test_the_prompts_take_the_focus_and_give_it_back(page: Page):
    """A prompt that opens where focus is not is never heard: it takes the focus, and hands it back on the way out."""
    user = password_user()
    secret = services.totp_begin(user_id=user.pk, principal=None)["secret"]
    services.totp_confirm(user_id=user.pk, principal=None, code=code_at(secret, -1))
    prompt_heading = page.get_by_role("heading", name="Confirm it's you")

    page.goto("/")
    sign_in_with_password(page, "grace@example.com")
    expect(prompt_heading).to_be_focused()
    page.get_by_role("button", name="Cancel").click()
    # Back to the control that started the sign-in.
    expect(page.get_by_role("button", name="Sign in with email")).to_be_focused()

    sign_in_with_password(page, "grace@example.com")
    expect(prompt_heading).to_be_focused()
    page.get_by_label("Code from your authenticator app").fill(code_at(secret, 0))
    page.get_by_role("button", name="Verify the code").click()
    expect(page.get_by_role("heading", name="Grace")).to_be_focused()

    # A step-up: cancelled, then done; each time back to the button that asked.
    Session.objects.filter(user=user).update(auth_time=timezone.now() - timedelta(hours=1))
    new_codes = page.get_by_role("button", name="New recovery codes")
    new_codes.click()
    expect(prompt_heading).to_be_focused()
    page.get_by_role("button", name="Cancel").click()
    expect(new_codes).to_be_focused()
    new_codes.click()
    expect(prompt_heading).to_be_focused()
    page.get_by_label("Code from your authenticator app").fill(code_at(secret, 1))
    page.get_by_role("button", name="Verify the code").click()
    expect(page.locator("#recovery-code-list li")).to_have_count(10)
    expect(new_codes).to_be_focused()
