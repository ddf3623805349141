"""The development identity provider's settings, read through `dev_idp_settings()` (see core.conf)."""

from dataclasses import dataclass

from django.conf import settings

from core.conf import settings_accessor
from devidp.social_entry import MOUNT_PATH


@dataclass(frozen=True)
class DevIdpSettings:
    requested: bool  # SOCIAL_DEV_PROVIDER
    debug: bool
    issuer: str
    client_id: str
    client_secret: str
    # A public client (no secret, PKCE) standing for a mobile app: its id_tokens are what a
    # native SDK would hand to POST /api/auth/social/dev/token.
    native_client_id: str
    # The client's registered redirect URIs: the social app's allowlist, so one setting
    # decides where both sides may send the browser.
    redirect_uris: frozenset[str]

    @property
    def enabled(self) -> bool:
        """A development tool only: never on without DEBUG, whatever SOCIAL_DEV_PROVIDER says."""
        return self.debug and self.requested


@settings_accessor
def dev_idp_settings() -> DevIdpSettings:
    return DevIdpSettings(
        requested=settings.SOCIAL_DEV_PROVIDER,
        debug=settings.DEBUG,
        issuer=settings.SOCIAL_DEV_BASE_URL.rstrip("/") + MOUNT_PATH,
        client_id=settings.SOCIAL_DEV_CLIENT_ID,
        client_secret=settings.SOCIAL_DEV_CLIENT_SECRET,
        native_client_id=settings.SOCIAL_DEV_NATIVE_CLIENT_ID,
        redirect_uris=frozenset(settings.SOCIAL_REDIRECT_URIS),
    )
