"""The passkeys app's settings, read through `passkey_settings()` (see core.conf)."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from core.conf import settings_accessor


@dataclass(frozen=True)
class PasskeySettings:
    # AUTH_WEBAUTHN: registration, passkey sign-in and the assertions mfa asks for; off answers 404.
    enabled: bool
    # The relying party: the domain every credential is bound to (a browser never lets it change).
    rp_id: str
    rp_name: str
    # Exact origins whose clientDataJSON is accepted.
    origins: tuple[str, ...]
    challenge_ttl: timedelta


@settings_accessor
def passkey_settings() -> PasskeySettings:
    return PasskeySettings(
        enabled=settings.AUTH_WEBAUTHN,
        rp_id=settings.WEBAUTHN_RP_ID,
        rp_name=settings.WEBAUTHN_RP_NAME,
        origins=tuple(settings.WEBAUTHN_ORIGINS),
        challenge_ttl=timedelta(seconds=settings.WEBAUTHN_CHALLENGE_SECONDS),
    )
