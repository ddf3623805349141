"""`make run`'s defaults: every provider's callback registered, and `make run PORT=8001` moving every local URL.

The settings are read once per process, so each case loads them in a child process with the environment
`make run` gives it.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from devidp.social_entry import BUILT_IN_PROVIDERS, dev_redirect_uris
from social.providers.registry import PROVIDERS

ROOT = Path(__file__).resolve().parents[2]
SHOW_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in (
    "SOCIAL_REDIRECT_URIS", "JWT_ISSUER", "SOCIAL_DEV_BASE_URL",
    "ACCOUNTS_VERIFY_EMAIL_URL", "ACCOUNTS_RESET_PASSWORD_URL")}))
"""


def _settings_under(**environ: str) -> dict:
    # The child starts from this environment without any of the variables these defaults are about.
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SOCIAL_", "JWT_", "ACCOUNTS_", "DJANGO_DEV_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        env={**inherited, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "1", **environ},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_debug_default_names_every_built_in_provider():
    # Each built-in provider's settings name it; the configured OpenID Connect providers are named by
    # SOCIAL_OIDC_PROVIDERS_JSON instead (their name field has no default).
    names = [cls.settings_class.model_fields["name"].default for cls in PROVIDERS]
    built_in = {name for name in names if isinstance(name, str)}
    assert set(BUILT_IN_PROVIDERS) == built_in
    assert dev_redirect_uris("http://127.0.0.1:8000/") == [
        f"http://127.0.0.1:8000/auth/callback/{name}" for name in ("kakao", "naver", "google", "apple", "dev")
    ]


def test_make_run_registers_naver_on_the_default_port():
    settings = _settings_under()
    assert "http://127.0.0.1:8000/auth/callback/naver" in settings["SOCIAL_REDIRECT_URIS"]


def test_make_run_port_moves_every_local_url():
    make = shutil.which("make")
    assert make is not None, "the README's two commands need make"
    # -n: what `make run PORT=8001` would run, without running it.
    commands = subprocess.run([make, "-n", "run", "PORT=8001"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "runserver 127.0.0.1:8001" in commands.stdout

    # What the Makefile exports for PORT=8001.
    settings = _settings_under(DJANGO_DEV_ORIGIN="http://127.0.0.1:8001")
    assert settings["SOCIAL_REDIRECT_URIS"] == dev_redirect_uris("http://127.0.0.1:8001")
    assert settings["JWT_ISSUER"] == settings["SOCIAL_DEV_BASE_URL"] == "http://127.0.0.1:8001"
    assert settings["ACCOUNTS_VERIFY_EMAIL_URL"].startswith("http://127.0.0.1:8001/auth/verify-email#")
    assert settings["ACCOUNTS_RESET_PASSWORD_URL"].startswith("http://127.0.0.1:8001/auth/reset-password#")
