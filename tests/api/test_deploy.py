"""Production defaults: HTTPS settings that pass `check --deploy`, and static files with DEBUG off."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.api.test_web import scripts_of

BASE_DIR = Path(__file__).resolve().parents[2]
# What production sets (docs/production.md); nothing is contacted by `check`.
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "auth.example.com",
    "DATABASE_URL": "postgresql://auth@db.internal:5432/auth",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "JWT_ISSUER": "https://auth.example.com",
    "ACCOUNTS_VERIFY_EMAIL_URL": "https://app.example.com/auth/verify-email#uid={uid}&token={token}",
    "ACCOUNTS_RESET_PASSWORD_URL": "https://app.example.com/auth/reset-password#uid={uid}&token={token}",
    "ACCOUNTS_EMAIL_CODE_URL": "https://app.example.com/sign-in#email={email}&code={code}",
    "ACCOUNTS_EMAIL_CHANGE_URL": "https://app.example.com/auth/email-change#uid={uid}&token={token}",
    "ACCOUNTS_EMAIL_CHANGE_CANCEL_URL": "https://app.example.com/auth/email-change-cancel#uid={uid}&token={token}",
}
HTTPS_SETTINGS = (
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
)


def python(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Python in a fresh process in the project folder, with only `env` of the project's own variables."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DATABASE_", "REDIS_", "JWT_", "SOCIAL_", "API_"))
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return python("manage.py", *args, **env)


def https_settings(**env: str) -> dict[str, str]:
    # The settings module alone, which every process loads first: the values need no app loaded, and a
    # process that loads none starts in a third of the CPU time of `manage.py shell`.
    printed = python(
        "-c",
        f"from django.conf import settings\nfor n in {HTTPS_SETTINGS!r}: print(n, getattr(settings, n))",
        DJANGO_SETTINGS_MODULE="config.settings",
        **env,
    )
    assert printed.returncode == 0, printed.stderr
    return dict(line.split(" ", 1) for line in printed.stdout.splitlines())


@pytest.mark.slow  # starts a process of its own
def test_check_deploy_passes_with_the_production_defaults():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("issuer", [None, "http://localhost:8000", "https://127.0.0.1", "http://[::1]:8000"])
def test_check_deploy_warns_of_a_loopback_jwt_issuer(issuer):
    env = {name: value for name, value in PRODUCTION_ENV.items() if name != "JWT_ISSUER"}
    if issuer is not None:  # None: the default
        env["JWT_ISSUER"] = issuer
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "tokens.W001" in result.stdout + result.stderr


@pytest.mark.slow  # starts a process of its own
def test_check_deploy_fails_when_production_turns_https_off():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV, DJANGO_SECURE_SSL_REDIRECT="0")
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


@pytest.mark.slow  # starts a process of its own
def test_https_is_on_with_debug_off_and_off_for_make_run():
    production = https_settings(**PRODUCTION_ENV)
    assert production == {
        "SECURE_SSL_REDIRECT": "True",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "True",
        "SECURE_HSTS_PRELOAD": "True",
        "SESSION_COOKIE_SECURE": "True",
        "CSRF_COOKIE_SECURE": "True",
        "SECURE_PROXY_SSL_HEADER": "None",
    }
    development = https_settings(DJANGO_DEBUG="1")
    assert set(development.values()) == {"False", "0", "None"}


@pytest.mark.slow  # starts a process of its own
def test_each_https_setting_comes_from_the_environment():
    changed = https_settings(
        **PRODUCTION_ENV,
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_HSTS_SECONDS="60",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        DJANGO_SECURE_HSTS_PRELOAD="0",
        DJANGO_SESSION_COOKIE_SECURE="0",
        DJANGO_CSRF_COOKIE_SECURE="0",
        DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https",
    )
    assert changed == {
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_HSTS_SECONDS": "60",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "False",
        "SECURE_HSTS_PRELOAD": "False",
        "SESSION_COOKIE_SECURE": "False",
        "CSRF_COOKIE_SECURE": "False",
        "SECURE_PROXY_SSL_HEADER": "('HTTP_X_FORWARDED_PROTO', 'https')",
    }


# --- what the HTTPS settings do, through the whole middleware stack ------------------------


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    return settings


def test_plain_http_is_redirected_to_https(production, db):
    response = Client().get("/api/auth/whoami")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/auth/whoami"


def test_https_requests_carry_hsts(production, db):
    response = Client().get("/api/health/live", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("path", ["/api/health", "/api/health/live"])
def test_health_probes_over_plain_http_are_answered_not_redirected(production, db, path):
    assert Client().get(path).status_code in (200, 503)


def test_the_proxy_header_marks_a_request_as_https(production, db):
    production.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert Client().get("/api/auth/social/providers", HTTP_X_FORWARDED_PROTO="https").status_code == 200
    assert Client().get("/api/auth/social/providers", HTTP_X_FORWARDED_PROTO="http").status_code == 301


# --- static files with DEBUG off ---------------------------------------------------------------


def assets_of(html: bytes) -> list[str]:
    stylesheets = re.findall(rb'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html) + re.findall(
        rb'<link[^>]+href="([^"]+)"[^>]+rel="stylesheet"', html
    )
    scripts = [script["src"] or "" for script in scripts_of(html) if script.get("src")]
    return [url.decode() for url in stylesheets] + scripts


@pytest.mark.parametrize("page", ["/", "/api/docs"])
def test_pages_and_their_static_files_load_with_debug_off(production, db, page):
    client = Client()
    response = client.get(page, secure=True)
    assert response.status_code == 200
    assets = assets_of(response.content)
    assert assets
    for url in assets:
        asset = client.get(url, secure=True)
        assert asset.status_code == 200, url
        assert b"".join(asset.streaming_content)
        assert "max-age" in asset["Cache-Control"]
