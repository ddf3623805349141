"""Start-up checks of the mfa settings."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from mfa.conf import MfaRequired


@register()
def mfa_settings_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    allowed = [choice.value for choice in MfaRequired]
    if settings.AUTH_MFA_REQUIRED not in allowed:
        errors.append(
            Error(f"AUTH_MFA_REQUIRED is {settings.AUTH_MFA_REQUIRED!r}; it is one of {allowed}.", id="mfa.E001")
        )
    if settings.MFA_TOKEN_TTL <= 0:
        errors.append(Error("MFA_TOKEN_TTL must be a positive number of seconds.", id="mfa.E002"))
    if settings.MFA_TOKEN_MAX_FAILURES <= 0:
        errors.append(Error("MFA_TOKEN_MAX_FAILURES must be positive.", id="mfa.E003"))
    if not settings.MFA_TOTP_ISSUER or ":" in settings.MFA_TOTP_ISSUER:
        # The otpauth:// label is "issuer:account": a colon in the issuer would split it wrongly.
        errors.append(Error("MFA_TOTP_ISSUER must be non-empty and without ':'.", id="mfa.E004"))
    return errors
