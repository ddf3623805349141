"""Fail closed on a weak, default or public key: at settings load (in a subprocess, as a server
loads them) and in the system checks that gunicorn.conf.py runs before serving."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.checks import run_checks
from django.core.management import call_command

from tests.forge import pem_pair

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "a-production-secret-key-for-this-test-only-0123456789"
LOAD_SETTINGS = "import django; from django.conf import settings; django.setup(); print(settings.JWT_ALGORITHM)"


def load_settings(**env: str) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "JWT_"))}
    return subprocess.run(
        [sys.executable, "-c", LOAD_SETTINGS],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def refused(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.slow  # starts a process of its own
def test_production_settings_refuse_a_missing_secret_key():
    refused(load_settings(DJANGO_DEBUG="0"), "DJANGO_SECRET_KEY is missing or the development default")


@pytest.mark.slow  # starts a process of its own
def test_production_settings_refuse_the_development_secret_key():
    from config.settings import INSECURE_DEFAULT_SECRET_KEY

    result = load_settings(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=INSECURE_DEFAULT_SECRET_KEY)
    refused(result, "DJANGO_SECRET_KEY is missing or the development default")


@pytest.mark.slow  # starts a process of its own
@pytest.mark.parametrize(("algorithm", "length"), [("HS256", 31), ("HS384", 47), ("HS512", 63)])
def test_production_settings_refuse_an_hmac_key_shorter_than_its_hash(algorithm, length):
    result = load_settings(
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY=STRONG_SECRET, JWT_ALGORITHM=algorithm, JWT_SIGNING_KEY="k" * length
    )
    refused(result, f"JWT_SIGNING_KEY is shorter than {length + 1} bytes")


@pytest.mark.slow  # starts a process of its own
def test_production_settings_refuse_the_secret_key_as_the_jwt_key():
    result = load_settings(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=STRONG_SECRET, JWT_SIGNING_KEY=STRONG_SECRET)
    refused(result, "JWT_SIGNING_KEY must not be DJANGO_SECRET_KEY")


@pytest.mark.slow  # starts a process of its own
def test_production_settings_load_with_strong_keys():
    result = load_settings(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=STRONG_SECRET, JWT_SIGNING_KEY="j" * 32)
    assert result.returncode == 0, result.stderr
    # A key set in the database needs no JWT_SIGNING_KEY (tokens.checks then looks there).
    assert load_settings(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=STRONG_SECRET).returncode == 0


@pytest.mark.slow  # starts a process of its own
def test_development_settings_load_with_nothing_set():
    result = load_settings(DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "HS256"


# --- system checks ------------------------------------------------------------------------


def check_ids(*, databases=None) -> set[str]:
    return {message.id for message in run_checks(databases=databases)}


def test_no_signing_key_anywhere_is_a_check_error_naming_the_setting(settings, db):
    settings.JWT_SIGNING_KEY = ""
    settings.JWT_ALGORITHM = "ES256"
    errors = [message for message in run_checks(databases=["default"]) if message.id == "tokens.E011"]
    assert len(errors) == 1
    assert "JWT_SIGNING_KEY" in errors[0].msg
    call_command("rotate_signing_key", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert "tokens.E011" not in check_ids(databases=["default"])


def test_make_run_signs_with_the_secret_key_only_with_debug_on(settings, db):
    settings.JWT_SIGNING_KEY = ""
    settings.DEBUG = True
    assert "tokens.E011" not in check_ids(databases=["default"])
    settings.DEBUG = False
    assert "tokens.E011" in check_ids(databases=["default"])


def _pems():
    return pem_pair(ec.generate_private_key(ec.SECP256R1()))


def test_a_public_key_as_the_signing_key_is_a_check_error(settings):
    settings.JWT_ALGORITHM = "ES256"
    settings.JWT_SIGNING_KEY = _pems()[1]
    errors = [message for message in run_checks() if message.id == "tokens.E010"]
    assert errors
    assert "JWT_SIGNING_KEY is a public key" in errors[0].msg


def test_a_public_key_as_an_hmac_secret_is_a_check_error(settings):
    settings.JWT_ALGORITHM = "HS256"
    settings.JWT_SIGNING_KEY = _pems()[1]
    assert "tokens.E010" in check_ids()


def test_a_verify_only_deployment_passes_the_checks(settings, db):
    settings.JWT_ALGORITHM = "ES256"
    settings.JWT_SIGNING_KEY = ""
    settings.JWT_VERIFYING_KEY = _pems()[1]
    assert not {"tokens.E010", "tokens.E011"} & check_ids(databases=["default"])


@pytest.mark.parametrize("max_age", [0, 900])
def test_a_key_set_max_age_of_zero_or_an_access_token_lifetime_is_a_check_error(settings, max_age):
    settings.JWT_ACCESS_TTL = 900
    settings.JWT_KEY_SET_MAX_AGE = max_age
    errors = [message for message in run_checks() if message.id == "tokens.E001"]
    assert errors
    assert "JWT_KEY_SET_MAX_AGE" in errors[0].msg
