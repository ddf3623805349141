"""The development identity provider's settings, declared and validated in one form (core.conf.AppSettings)."""

from typing import Annotated

from pydantic import AfterValidator, Field

from core.conf import AppSettings, settings_accessor
from devidp.social_entry import MOUNT_PATH


def _issuer(base_url: str) -> str:
    return base_url.rstrip("/") + MOUNT_PATH


class DevIdpSettings(AppSettings):
    requested: bool = Field(alias="SOCIAL_DEV_PROVIDER")
    debug: bool = Field(alias="DEBUG")
    # The provider's issuer: the development server's origin (SOCIAL_DEV_BASE_URL) and where it is mounted.
    issuer: Annotated[str, AfterValidator(_issuer)] = Field(alias="SOCIAL_DEV_BASE_URL")
    client_id: str = Field(alias="SOCIAL_DEV_CLIENT_ID")
    client_secret: str = Field(alias="SOCIAL_DEV_CLIENT_SECRET", repr=False)
    # A public client (no secret, PKCE) standing for a mobile app: its id_tokens are what a
    # native SDK would hand to POST /api/auth/social/dev/token.
    native_client_id: str = Field(alias="SOCIAL_DEV_NATIVE_CLIENT_ID")
    # The client's registered redirect URIs: the social app's allowlist, so one setting
    # decides where both sides may send the browser.
    redirect_uris: frozenset[str] = Field(alias="SOCIAL_REDIRECT_URIS")

    @property
    def enabled(self) -> bool:
        """A development tool only: never on without DEBUG, whatever SOCIAL_DEV_PROVIDER says."""
        return self.debug and self.requested


dev_idp_settings = settings_accessor(DevIdpSettings.from_django_settings)
