"""The mfa app's settings, declared and validated in one form (core.conf.AppSettings)."""

from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from core.conf import AppSettings, Seconds, refused, settings_accessor


class MfaRequired(StrEnum):
    """AUTH_MFA_REQUIRED: whose sign-in must enrol a second factor before it gets tokens."""

    OFF = "off"
    STAFF = "staff"
    ALL = "all"


def _otpauth_issuer(issuer: str) -> str:
    # The otpauth:// label is "issuer:account": a colon in the issuer would split it wrongly.
    if not issuer or ":" in issuer:
        raise refused("must be non-empty and without ':'")
    return issuer


class MfaSettings(AppSettings):
    required: MfaRequired = Field(alias="AUTH_MFA_REQUIRED")
    # The issuer an authenticator app shows beside the account (otpauth:// URI).
    totp_issuer: Annotated[str, AfterValidator(_otpauth_issuer)] = Field(alias="MFA_TOTP_ISSUER")
    # How long an mfa_token lets its holder answer the second-factor prompt.
    token_ttl: Seconds = Field(alias="MFA_TOKEN_TTL", gt=timedelta(0))
    # Wrong codes an mfa_token survives; the user's own budget is API_THROTTLE_MFA.
    token_max_failures: int = Field(alias="MFA_TOKEN_MAX_FAILURES", ge=1)


mfa_settings = settings_accessor(MfaSettings.from_django_settings)
