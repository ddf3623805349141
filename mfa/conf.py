"""The mfa app's settings, declared and validated in one form (core.conf.AppSettings).

What each setting may hold beyond its type is mfa.checks', which reports every fault at once
under its own id.
"""

from enum import StrEnum

from pydantic import Field

from core.conf import AppSettings, Seconds, settings_accessor


class MfaRequired(StrEnum):
    """AUTH_MFA_REQUIRED: whose sign-in must enrol a second factor before it gets tokens."""

    OFF = "off"
    STAFF = "staff"
    ALL = "all"


class MfaSettings(AppSettings):
    required: MfaRequired = Field(alias="AUTH_MFA_REQUIRED")
    # The issuer an authenticator app shows beside the account (otpauth:// URI).
    totp_issuer: str = Field(alias="MFA_TOTP_ISSUER")
    # How long an mfa_token lets its holder answer the second-factor prompt.
    token_ttl: Seconds = Field(alias="MFA_TOKEN_TTL")
    # Wrong codes an mfa_token survives; the user's own budget is API_THROTTLE_MFA.
    token_max_failures: int = Field(alias="MFA_TOKEN_MAX_FAILURES")


mfa_settings = settings_accessor(MfaSettings.from_django_settings)
