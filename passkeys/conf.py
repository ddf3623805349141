"""The passkeys app's settings, declared and validated in one form (core.conf.AppSettings).

What they must hold together with the feature on (a relying party, origins on it) is passkeys.checks'.
"""

from pydantic import Field

from core.conf import AppSettings, Seconds, settings_accessor


class PasskeySettings(AppSettings):
    # Registration, passkey sign-in and the assertions mfa asks for; off answers 404.
    enabled: bool = Field(alias="AUTH_WEBAUTHN")
    # The relying party: the domain every credential is bound to (a browser never lets it change).
    rp_id: str = Field(alias="WEBAUTHN_RP_ID")
    rp_name: str = Field(alias="WEBAUTHN_RP_NAME")
    # Exact origins whose clientDataJSON is accepted.
    origins: tuple[str, ...] = Field(alias="WEBAUTHN_ORIGINS")
    challenge_ttl: Seconds = Field(alias="WEBAUTHN_CHALLENGE_SECONDS")


passkey_settings = settings_accessor(PasskeySettings.from_django_settings)
