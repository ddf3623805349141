"""Refuses to start with token settings that would fail at the first request or open the refresh cookie."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from tokens.conf import token_settings


@register(Tags.security)
def token_settings_check(app_configs, **kwargs):
    try:
        token_settings()
    except ImproperlyConfigured as error:
        return [Error(str(error), id="tokens.E001")]
    return []


@register(Tags.security)
def cors_origins_are_exact_check(app_configs, **kwargs):
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
