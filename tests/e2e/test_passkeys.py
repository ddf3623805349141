"""Passkeys on the sign-in page in Chromium, with a virtual authenticator through the DevTools
protocol (a platform authenticator that holds resident keys and verifies its user)."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from passkeys.models import WebAuthnCredential
from tests.e2e.test_sign_in import sign_in

pytestmark = pytest.mark.e2e

PASSKEY_SIGN_IN_API = re.compile(r"/api/auth/webauthn$")
PASSKEY_OPTIONS_API = re.compile(r"/api/auth/webauthn/options$")


@pytest.fixture
def webauthn_stack(dev_stack, settings):
    """The live server as the relying party of its own origin, as `make run` is of http://localhost:8000."""
    settings.AUTH_WEBAUTHN = True
    settings.WEBAUTHN_RP_ID = urlsplit(dev_stack.url).hostname
    settings.WEBAUTHN_ORIGINS = [dev_stack.url]
    return dev_stack


def virtual_authenticator(page: Page) -> tuple:
    """A platform authenticator with resident keys and user verification, as a phone or a laptop has."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def test_register_a_passkey_sign_out_and_sign_in_with_it(webauthn_stack, page, screenshot):
    cdp, authenticator_id = virtual_authenticator(page)
    sign_in(page)

    page.get_by_role("button", name="Register a passkey").click()
    expect(page.locator("#passkeys tr")).to_have_count(1)
    expect(page.locator("#notice")).to_contain_text("Passkey registered")
    stored = WebAuthnCredential.objects.get()
    assert stored.passkey is True
    assert stored.user.email == "ada@example.com"
    # The virtual authenticator made a discoverable credential for this RP ID.
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert [(credential["isResidentCredential"], credential["rpId"]) for credential in credentials] == [
        (True, urlsplit(webauthn_stack.url).hostname)
    ]
    screenshot(page, "passkeys-registered")

    # Signed out, the page asks at once for options to offer the passkeys in the email field's autofill.
    with page.expect_request(PASSKEY_OPTIONS_API):
        page.get_by_role("button", name="Log out", exact=True).click()
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.get_by_label("Email").first).to_have_attribute("autocomplete", "username webauthn")

    with page.expect_response(PASSKEY_SIGN_IN_API) as answer:
        page.get_by_role("button", name="Sign in with a passkey").click()
    assert answer.value.ok, answer.value.text()
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#user-email")).to_have_text("ada@example.com")
    expect(page.locator("#passkeys tr td").nth(3)).not_to_have_text("never")

    remove = page.locator("#passkeys tr button")
    expect(remove).to_have_text("Remove")
    expect(remove).to_have_accessible_name(f"Remove the passkey {stored.name}")
    remove.click()
    expect(page.locator("#passkeys tr")).to_have_count(0)
    assert not WebAuthnCredential.objects.exists()


def test_on_another_host_than_the_rp_id_the_page_says_where_passkeys_work(webauthn_stack, page, settings):
    settings.WEBAUTHN_RP_ID = "example.com"
    settings.WEBAUTHN_ORIGINS = ["https://example.com"]

    page.goto("/")

    expect(page.locator("#passkey-hint")).to_have_text(
        "Passkeys work on example.com only: open this page there to use them."
    )
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
