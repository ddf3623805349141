"""Start-up checks of the mfa settings."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, register

from core.conf import fault_errors
from mfa.conf import MfaSettings

# Each setting's fault under its own id, all reported at once.
CHECK_IDS = {
    "AUTH_MFA_REQUIRED": "mfa.E001",
    "MFA_TOKEN_TTL": "mfa.E002",
    "MFA_TOKEN_MAX_FAILURES": "mfa.E003",
    "MFA_TOTP_ISSUER": "mfa.E004",
}


@register()
def mfa_settings_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    return fault_errors(MfaSettings, CHECK_IDS)
