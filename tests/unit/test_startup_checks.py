"""Bad configuration stops the server at start-up with an error naming the setting, instead of
answering the first request that needs it with a 500."""

import pytest
from django.core.checks import run_checks

from tests.api.test_deploy import manage


def errors_of(check_id: str) -> list[str]:
    return [message.msg for message in run_checks() if message.id == check_id]


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("JWT_ALGORITHM", "HS257", "JWT_ALGORITHM"),
        ("JWT_ALGORITHM", "none", "JWT_ALGORITHM"),
        ("JWT_EXTRA_CLAIMS", "nowhere.claims_for", "JWT_EXTRA_CLAIMS"),
    ],
)
def test_a_broken_token_setting_is_a_start_up_error(settings, setting, value, named):
    setattr(settings, setting, value)
    [message] = errors_of("tokens.E001")
    assert named in message


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("SOCIAL_GOOGLE_DISCOVERY_URL", "http://accounts.example/.well-known/openid-configuration", "SOCIAL_GOOGLE"),
        ("SOCIAL_KAKAO_TOKEN_URL", "http://kauth.example/oauth/token", "SOCIAL_KAKAO_TOKEN_URL"),
        ("SOCIAL_KAKAO_AUTHORIZE_URL", "ftp://kauth.example/authorize", "SOCIAL_KAKAO_AUTHORIZE_URL"),
        ("SOCIAL_OIDC_PROVIDERS", ["acme"], "SOCIAL_OIDC_PROVIDERS_JSON"),
        ("SOCIAL_OIDC_PROVIDERS", {"acme": "https://id.example"}, "SOCIAL_OIDC_PROVIDERS_JSON['acme']"),
        ("SOCIAL_OIDC_PROVIDERS", {"acme": {"client_id": "x"}}, "discovery_url"),
        ("SOCIAL_OIDC_PROVIDERS", {"acme": {"discovery_url": "http://id.example/x"}}, "discovery_url"),
        ("SOCIAL_OIDC_PROVIDERS", {"acme": {"discovery_url": "https://id.example/x", "scope": "openid"}}, "scope"),
        ("SOCIAL_OIDC_PROVIDERS", {"acme": {"discovery_url": "https://id.example/x", "scopes": "openid"}}, "scopes"),
        ("SOCIAL_OIDC_PROVIDERS", {"acme": {"discovery_url": "https://id.example/x", "client_id": 7}}, "client_id"),
    ],
)
def test_a_broken_social_setting_is_a_start_up_error(settings, setting, value, named):
    setattr(settings, setting, value)
    [message] = errors_of("social.E001")
    assert named in message


def test_loopback_providers_over_http_are_accepted(settings):
    settings.SOCIAL_OIDC_PROVIDERS = {"local": {"client_id": "x", "discovery_url": "http://127.0.0.1:9000/.well-known"}}
    assert errors_of("social.E001") == []


def test_the_default_token_and_social_settings_pass_the_checks():
    assert errors_of("tokens.E001") + errors_of("social.E001") == []


@pytest.mark.slow  # starts a process of its own
@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("JWT_ALGORITHM", "HS257", "JWT_ALGORITHM"),
        ("SOCIAL_GOOGLE_DISCOVERY_URL", "http://accounts.example/.well-known/openid-configuration", "SOCIAL_GOOGLE"),
        ("SOCIAL_OIDC_PROVIDERS_JSON", '{"acme": {"client_id": "x"}}', "SOCIAL_OIDC_PROVIDERS_JSON"),
    ],
)
def test_manage_py_check_refuses_to_pass(variable, value, named):
    result = manage("check", DJANGO_DEBUG="1", **{variable: value})
    assert result.returncode != 0
    assert named in result.stderr
