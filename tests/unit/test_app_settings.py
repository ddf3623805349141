"""Every app's settings are one declared form (core.conf.AppSettings): fields named after the Django
setting they come from, constraints on the fields, refusals that name the setting and never a secret."""

import importlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from core import conf as core_conf
from core.conf import AppSettings
from tokens.conf import token_settings

ROOT = Path(__file__).resolve().parents[2]
# The fields no Django setting holds, passed in by the accessor: social's offered providers are
# validated by their own settings classes.
UNALIASED = {"SocialSettings": {"providers"}}


def app_accessors() -> dict[str, object]:
    """Each `<app>/conf.py`'s cached settings accessors, by module and name."""
    found = {}
    for path in sorted(ROOT.glob("*/conf.py")):
        module = importlib.import_module(f"{path.parent.name}.conf")
        for name, value in vars(module).items():
            if name.endswith("_settings") and any(value is accessor for accessor in core_conf._accessors):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_app_reads_its_settings_through_an_accessor():
    accessors = app_accessors()
    apps = {name.split(".")[0] for name in accessors}
    assert apps == {path.parent.name for path in ROOT.glob("*/conf.py")}
    assert {"tokens.conf.token_settings", "accounts.conf.account_settings", "core.conf.core_settings"} <= set(accessors)


@pytest.mark.parametrize("accessor", sorted(app_accessors()))
def test_each_accessor_builds_an_app_settings_whose_fields_name_existing_settings(accessor):
    built = app_accessors()[accessor]()

    assert isinstance(built, AppSettings), f"{accessor}() is not declared as a core.conf.AppSettings"
    fields = type(built).model_fields
    unaliased = {name for name, field in fields.items() if not field.alias}
    assert unaliased == UNALIASED.get(type(built).__name__, set()), f"{accessor}: fields no setting names"
    unknown = [field.alias for field in fields.values() if field.alias and not hasattr(django_settings, field.alias)]
    assert not unknown, f"{accessor}: aliases that are not Django settings: {unknown}"


def test_the_accessor_follows_the_settings(settings):
    settings.JWT_ACCESS_TTL = 1200
    assert token_settings().access_ttl == timedelta(seconds=1200)
    settings.JWT_ACCESS_TTL = 600
    assert token_settings().access_ttl == timedelta(seconds=600)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"JWT_ALGORITHM": "none"}, "JWT_ALGORITHM: Input should be 'HS256'"),
        ({"JWT_ALGORITHM": "HS257"}, "JWT_ALGORITHM: Input should be 'HS256'"),
        ({"JWT_REFRESH_TRANSPORT": "header"}, "JWT_REFRESH_TRANSPORT: Input should be 'body', 'cookie' or 'both'."),
        ({"JWT_REFRESH_REUSE_INTERVAL": -1}, "JWT_REFRESH_REUSE_INTERVAL: Input should be greater than or equal to 0"),
        ({"JWT_MAX_SESSIONS_PER_USER": 0}, "JWT_MAX_SESSIONS_PER_USER: Input should be greater than or equal to 1."),
        ({"JWT_KEY_SET_MAX_AGE": 0}, "JWT_KEY_SET_MAX_AGE: Input should be greater than or equal to 1 second."),
        ({"JWT_ACCESS_TTL": 60, "JWT_KEY_SET_MAX_AGE": 60}, "JWT_KEY_SET_MAX_AGE must be shorter than JWT_ACCESS_TTL."),
        (
            {"JWT_KEY_SET_MAX_AGE": 120, "JWT_KEY_ACTIVATION_DELAY": 120},
            "JWT_KEY_ACTIVATION_DELAY must be longer than JWT_KEY_SET_MAX_AGE.",
        ),
        ({"JWT_JWKS_MAX_AGE": 0}, "JWT_JWKS_MAX_AGE: Input should be greater than or equal to 1 second."),
        (
            {"JWT_JWKS_MAX_AGE": 3600, "JWT_KEY_ACTIVATION_DELAY": 3600},
            "JWT_JWKS_MAX_AGE must be shorter than JWT_KEY_ACTIVATION_DELAY.",
        ),
        (
            {"JWT_KEY_ROTATION_PERIOD": 3600, "JWT_KEY_ACTIVATION_DELAY": 3600},
            "JWT_KEY_ROTATION_PERIOD must be 0 (off) or longer than JWT_KEY_ACTIVATION_DELAY.",
        ),
        (
            {"JWT_INTROSPECTION_CLIENTS": ["api:" + "0" * 64, "gateway:s3cr3t-pasted-here"]},
            "JWT_INTROSPECTION_CLIENTS: entries must be `client_id:<SHA-256 of the secret, 64 hex digits>`.",
        ),
        ({"JWT_INTROSPECTION_CLIENTS": [7]}, "JWT_INTROSPECTION_CLIENTS: entries must be"),
        ({"JWT_EXTRA_CLAIMS": "nowhere.claims_for"}, "JWT_EXTRA_CLAIMS: 'nowhere.claims_for' cannot be imported: "),
        ({"JWT_SIGNING_KEY": 918273645}, "JWT_SIGNING_KEY: Input should be a valid string."),
    ],
)
def test_a_declared_token_constraint_refuses_with_the_setting_named(settings, overrides, message):
    for name, value in overrides.items():
        setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured) as refused:
        token_settings()

    assert str(refused.value).startswith(message)
    assert not re.search("s3cr3t|918273645", str(refused.value))  # a secret's value is never in the message


def test_the_token_settings_accept_what_the_rules_allow(settings):
    settings.JWT_KEY_ROTATION_PERIOD = 0
    settings.JWT_REFRESH_REUSE_INTERVAL = 0
    settings.JWT_INTROSPECTION_CLIENTS = ["api:" + "a" * 64, "api:" + "b" * 64]
    settings.JWT_EXTRA_CLAIMS = "tests.unit.test_app_settings.no_claims"
    settings.JWT_ALGORITHM = "EdDSA"

    conf = token_settings()

    assert conf.key_rotation_period is None
    assert conf.refresh_reuse_interval == timedelta(0)
    assert conf.introspection_clients == {"api": frozenset({"a" * 64, "b" * 64})}
    assert conf.extra_claims is no_claims
    assert not conf.is_hmac


def test_no_secret_is_in_a_settings_repr(settings):
    settings.JWT_SIGNING_KEY = "signing-s3cr3t"
    settings.JWT_KEY_ENCRYPTION_KEYS = ["kek-s3cr3t"]
    settings.JWT_INTROSPECTION_CLIENTS = ["api:" + "c" * 64]

    assert not re.search("s3cr3t|ccc", repr(token_settings()))


def no_claims(user: object) -> dict[str, object]:
    return {}


def test_an_apps_check_reports_each_declared_constraints_fault_under_its_own_id(settings):
    from mfa.checks import mfa_settings_check
    from mfa.conf import mfa_settings

    settings.AUTH_MFA_REQUIRED = "some"
    settings.MFA_TOKEN_TTL = 0
    settings.MFA_TOKEN_MAX_FAILURES = 0
    settings.MFA_TOTP_ISSUER = "Acme:Auth"

    assert sorted((error.id, error.msg.partition(":")[0]) for error in mfa_settings_check(None)) == [
        ("mfa.E001", "AUTH_MFA_REQUIRED"),
        ("mfa.E002", "MFA_TOKEN_TTL"),
        ("mfa.E003", "MFA_TOKEN_MAX_FAILURES"),
        ("mfa.E004", "MFA_TOTP_ISSUER"),
    ]
    with pytest.raises(ImproperlyConfigured, match=r"^AUTH_MFA_REQUIRED: "):
        mfa_settings()
