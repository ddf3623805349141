"""Refuses to start with token settings that would fail at the first request, open the
refresh cookie, or leave the server without a key it can sign with.

gunicorn.conf.py runs these with the database (`check --database default`) before serving;
`migrate` does too. A plain `manage.py check` looks at the environment's keys only.
"""

import ipaddress
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from tokens import kek, keys
from tokens.conf import token_settings
from tokens.models import SigningKey, SigningKeyState


@register(Tags.security)
def token_settings_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    try:
        token_settings()
    except ImproperlyConfigured as error:
        return [Error(str(error), id="tokens.E001")]
    return []


@register(Tags.security)
def cors_origins_are_exact_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    # Credentials are allowed for CORS origins, and the refresh cookie's CSRF check trusts
    # them: a pattern or a wildcard would hand the cookie to whatever page matches it.
    if getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False) or getattr(settings, "CORS_ALLOWED_ORIGIN_REGEXES", []):
        return [
            Error(
                "CORS_ALLOW_ALL_ORIGINS / CORS_ALLOWED_ORIGIN_REGEXES are set while credentials are allowed.",
                hint="List exact origins in CORS_ALLOWED_ORIGINS (https://app.example.com).",
                id="tokens.E002",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def issuer_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    # Every token carries `iss`, and every verifier elsewhere pins it: left at the development
    # default (a loopback URL), production tokens name a host no one else can reach, and a
    # change later logs everyone out.
    if settings.DEBUG:
        return []
    try:
        issuer = token_settings().issuer
    except ImproperlyConfigured:
        return []  # tokens.E001 says why
    if not _is_loopback(urlsplit(issuer).hostname):
        return []
    return [
        Warning(
            f"JWT_ISSUER is {issuer!r}, a loopback address, with DJANGO_DEBUG off.",
            hint="Set JWT_ISSUER to this API's public URL (https://auth.example.com) and JWT_AUDIENCE to "
            "what your clients and APIs expect, before the first token is issued (docs/tokens.md).",
            id="tokens.W001",
        )
    ]


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


@register(Tags.security)
def signing_key_check(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    try:
        token_settings()
    except ImproperlyConfigured:
        return []  # tokens.E001 says why
    try:
        static = keys.static_key()
    except ImproperlyConfigured as exc:  # the message names the setting
        return [Error(str(exc), hint="docs/keys.md says what each algorithm needs.", id="tokens.E010")]
    if static is not None:
        return []  # the environment's key signs, or this deployment only verifies (JWT_VERIFYING_KEY)
    if not databases or "default" not in databases:
        return []
    try:
        has_current = SigningKey.objects.filter(state=SigningKeyState.CURRENT).exists()
    except DatabaseError:
        return []  # not migrated yet (migrate is about to create the table) or unreachable (/api/health says)
    if has_current:
        return []
    return [
        Error(
            f"JWT_SIGNING_KEY is empty and the database holds no current signing key "
            f"(JWT_ALGORITHM={token_settings().algorithm}): this server could not sign a token.",
            hint="Run `python manage.py rotate_signing_key` once (every host reads the key from the "
            "database), or set JWT_SIGNING_KEY; see docs/keys.md.",
            id="tokens.E011",
        )
    ]


@register(Tags.security)
def signing_keys_encrypted_check(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """With debug off, private keys in the database are encrypted and a key-encryption key opens them."""
    try:
        configured = kek.encryption_configured()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="tokens.E012")]
    if settings.DEBUG or not databases or "default" not in databases:
        return []
    try:
        stored = list(SigningKey.objects.values_list("private_key", flat=True))
    except DatabaseError:
        return []  # not migrated yet, or unreachable: as for tokens.E011
    if not stored:
        return []
    if not configured:
        return [
            Error(
                "The database holds private signing keys and JWT_KEY_ENCRYPTION_KEYS is empty.",
                hint="Set JWT_KEY_ENCRYPTION_KEYS (docs/keys.md says how to make one), then run "
                "`python manage.py reencrypt_signing_keys`.",
                id="tokens.E012",
            )
        ]
    if not all(kek.is_sealed(value) for value in stored):
        return [
            Error(
                "Some private signing keys in the database are not encrypted.",
                hint="Run `python manage.py reencrypt_signing_keys`.",
                id="tokens.E013",
            )
        ]
    return []
