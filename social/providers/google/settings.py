"""Google's settings: each field's alias is the Django setting (and environment variable) it comes from."""

from pydantic import Field

from social.providers.base import Endpoint
from social.providers.oidc import OIDCSettings

# Google's id_tokens may name their issuer without the scheme (Google's OpenID Connect docs).
GOOGLE_BARE_ISSUER = "accounts.google.com"


class GoogleSettings(OIDCSettings):
    name: str = "google"
    display_name: str = "Google"
    client_id: str = Field(alias="SOCIAL_GOOGLE_CLIENT_ID")
    client_secret: str = Field(alias="SOCIAL_GOOGLE_CLIENT_SECRET", repr=False)
    scopes: tuple[str, ...] = Field(alias="SOCIAL_GOOGLE_SCOPES")
    discovery_url: Endpoint = Field(alias="SOCIAL_GOOGLE_DISCOVERY_URL")
    extra_issuers: tuple[str, ...] = (GOOGLE_BARE_ISSUER,)
    client_ids: tuple[str, ...] = Field(alias="SOCIAL_GOOGLE_CLIENT_IDS")
    # Google verifies addresses; which ones are authoritative is the mapping's rule (google_identity).
    trust_email: bool = True
    # Google's Sign-In SDKs (Credential Manager, GoogleSignIn for iOS, Identity Services) all take a nonce.
    require_nonce: bool = Field(alias="SOCIAL_GOOGLE_REQUIRE_NONCE")
