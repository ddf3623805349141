"""passkeys.checks: with WebAuthn on, a server that does not know its relying party does not start."""

import pytest

from passkeys.checks import passkey_settings_check


def _ids() -> list[str]:
    return [error.id for error in passkey_settings_check(None)]


@pytest.fixture
def webauthn(settings):
    settings.AUTH_WEBAUTHN = True
    settings.WEBAUTHN_RP_ID = "example.com"
    settings.WEBAUTHN_ORIGINS = ["https://example.com", "https://app.example.com"]
    settings.WEBAUTHN_CHALLENGE_SECONDS = 300
    return settings


def test_a_complete_configuration_passes(webauthn):
    assert _ids() == []


def test_off_needs_nothing(settings):
    settings.AUTH_WEBAUTHN = False
    settings.WEBAUTHN_RP_ID = ""
    settings.WEBAUTHN_ORIGINS = []

    assert _ids() == []


@pytest.mark.parametrize(("rp_id", "origins"), [("", ["https://example.com"]), ("example.com", [])])
def test_on_without_the_relying_party_fails_closed(webauthn, rp_id, origins):
    webauthn.WEBAUTHN_RP_ID = rp_id
    webauthn.WEBAUTHN_ORIGINS = origins

    assert _ids() == ["passkeys.E001"]


def test_an_ip_address_is_no_rp_id(webauthn):
    webauthn.WEBAUTHN_RP_ID = "127.0.0.1"
    webauthn.WEBAUTHN_ORIGINS = ["http://127.0.0.1:8000"]

    assert _ids() == ["passkeys.E002"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://example.com/login",  # a URL, not an origin
        "example.com",  # no scheme
        "http://app.example.com",  # plain http off loopback
        "https://example.org",  # another site
        "https://notexample.com",  # a suffix, not a subdomain
    ],
)
def test_each_origin_must_be_an_exact_secure_origin_on_the_rp_id(webauthn, origin):
    webauthn.WEBAUTHN_ORIGINS = [origin]

    assert _ids() == ["passkeys.E003"]


def test_the_development_defaults_pass(webauthn):
    webauthn.WEBAUTHN_RP_ID = "localhost"
    webauthn.WEBAUTHN_ORIGINS = ["http://localhost:8000"]

    assert _ids() == []


def test_the_challenge_lifetime_must_be_positive(webauthn):
    webauthn.WEBAUTHN_CHALLENGE_SECONDS = 0

    assert _ids() == ["passkeys.E004"]
