"""The mfa app's settings, read through `mfa_settings()` (see core.conf)."""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings

from core.conf import settings_accessor


class MfaRequired(StrEnum):
    """AUTH_MFA_REQUIRED: whose sign-in must enrol a second factor before it gets tokens."""

    OFF = "off"
    STAFF = "staff"
    ALL = "all"


@dataclass(frozen=True)
class MfaSettings:
    required: MfaRequired
    # The issuer an authenticator app shows beside the account (otpauth:// URI, MFA_TOTP_ISSUER).
    totp_issuer: str
    # How long an mfa_token lets its holder answer the second-factor prompt (MFA_TOKEN_TTL).
    token_ttl: timedelta
    # Wrong codes an mfa_token survives (MFA_TOKEN_MAX_FAILURES); the user's own budget is API_THROTTLE_MFA.
    token_max_failures: int


@settings_accessor
def mfa_settings() -> MfaSettings:
    return MfaSettings(
        required=MfaRequired(settings.AUTH_MFA_REQUIRED),
        totp_issuer=settings.MFA_TOTP_ISSUER,
        token_ttl=timedelta(seconds=settings.MFA_TOKEN_TTL),
        token_max_failures=settings.MFA_TOKEN_MAX_FAILURES,
    )
