"""social.conf: which providers are offered, in which order, and which endpoints are allowed."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from social.conf import social_settings
from social.providers.base import is_allowed_endpoint
from social.providers.openid_connect.settings import ConfiguredOIDCSettings

pytestmark = pytest.mark.usefixtures("social")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://accounts.google.com/.well-known/openid-configuration", True),
        ("http://127.0.0.1:8000/dev-idp/.well-known/openid-configuration", True),
        ("http://127.0.0.2:9000/x", True),
        ("http://localhost:8000/x", True),
        ("http://[::1]:8000/x", True),
        ("http://accounts.google.com/x", False),
        ("http://10.0.0.1/x", False),
        ("http://127.0.0.1.evil.example/x", False),
        ("ftp://127.0.0.1/x", False),
        ("https:///no-host", False),
        ("None", False),
    ],
)
def test_https_everywhere_http_only_on_loopback(url, allowed):
    assert is_allowed_endpoint(url) is allowed


def test_providers_are_kakao_google_then_configured_ones_in_order(settings):
    settings.SOCIAL_OIDC_PROVIDERS = {
        "zeta": {"client_id": "z", "discovery_url": "https://z.example/.well-known/openid-configuration"},
        "dev": {"client_id": "d", "discovery_url": "http://127.0.0.1:8000/dev-idp/.well-known/openid-configuration"},
    }

    assert list(social_settings().providers) == ["kakao", "google", "zeta", "dev"]
    dev = social_settings().providers["dev"]
    assert dev == ConfiguredOIDCSettings(
        name="dev",
        display_name="dev",
        client_id="d",
        client_secret="",
        scopes=("openid", "email", "profile"),
        discovery_url="http://127.0.0.1:8000/dev-idp/.well-known/openid-configuration",
    )


def test_settings_are_read_at_call_time(settings):
    settings.SOCIAL_KAKAO_CLIENT_ID = ""
    assert "kakao" not in social_settings().providers
    settings.SOCIAL_KAKAO_CLIENT_ID = "again"
    assert social_settings().providers["kakao"].client_id == "again"


def test_only_google_accepts_the_bare_issuer():
    providers = social_settings().providers
    assert providers["google"].extra_issuers == ("accounts.google.com",)
    assert providers["acme"].extra_issuers == ()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("SOCIAL_KAKAO_TOKEN_URL", "http://kauth.kakao.com/oauth/token"),
        ("SOCIAL_GOOGLE_DISCOVERY_URL", "http://accounts.google.com/.well-known/openid-configuration"),
        ("SOCIAL_OIDC_PROVIDERS", {"x": {"client_id": "x", "discovery_url": "http://id.example/.well-known/x"}}),
        ("SOCIAL_OIDC_PROVIDERS", {"x": {"client_id": "x"}}),
        ("SOCIAL_OIDC_PROVIDERS", {"google": {"client_id": "x", "discovery_url": "https://id.example/x"}}),
        ("SOCIAL_OIDC_PROVIDERS", {"Bad Name": {"client_id": "x", "discovery_url": "https://id.example/x"}}),
        ("SOCIAL_OIDC_PROVIDERS", {"x": {"client_id": "x", "discovery_url": "https://id.example/x", "issuer": "y"}}),
    ],
)
def test_misconfiguration_is_refused_with_the_setting_named(settings, setting, value):
    setattr(settings, setting, value)

    with pytest.raises(ImproperlyConfigured, match="SOCIAL_"):
        social_settings()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"SOCIAL_KAKAO_TOKEN_URL": "http://kauth.kakao.com/oauth/token"},
            "SOCIAL_KAKAO_TOKEN_URL: 'http://kauth.kakao.com/oauth/token' must be an https:// URL",
        ),
        (
            {
                "SOCIAL_APPLE_CLIENT_ID": "a",
                "SOCIAL_APPLE_PRIVATE_KEY": "",
                "SOCIAL_APPLE_PRIVATE_KEY_FILE": "/nowhere.p8",
            },
            "SOCIAL_APPLE_PRIVATE_KEY_FILE cannot be read (No such file or directory).",
        ),
        (
            {"SOCIAL_OIDC_PROVIDERS": {"x": {"discovery_url": "https://id.example/x", "scopes": ["openid", ""]}}},
            "SOCIAL_OIDC_PROVIDERS_JSON['x']['scopes'][1]: String should have at least 1 character.",
        ),
        (
            {"SOCIAL_OIDC_PROVIDERS": {"x": {"discovery_url": "https://id.example/x", "trust_email": "yes"}}},
            "SOCIAL_OIDC_PROVIDERS_JSON['x']['trust_email']: Input should be a valid boolean.",
        ),
        (
            {"SOCIAL_OIDC_PROVIDERS": {"x": {"discovery_url": "https://id.example/x", "client_secret": 918273645}}},
            "SOCIAL_OIDC_PROVIDERS_JSON['x']['client_secret']: Input should be a valid string.",
        ),
    ],
)
def test_the_declared_settings_name_the_setting_and_the_field_at_fault(settings, overrides, message):
    for name, value in overrides.items():
        setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured) as refused:
        social_settings()

    assert str(refused.value).startswith(message)
    assert "918273645" not in str(refused.value)  # a secret's value is never in the message
