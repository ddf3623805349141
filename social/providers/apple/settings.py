"""Apple's settings: each field's alias is the Django setting (and environment variable) it comes from."""

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from social.providers.base import Endpoint, OptionalEndpoint
from social.providers.oidc import OIDCSettings


class AppleSettings(OIDCSettings):
    """Sign in with Apple: OpenID Connect whose client secret is a JWT we sign (apple/client_secret.py)."""

    name: str = "apple"
    display_name: str = "Apple"
    client_id: str = Field(alias="SOCIAL_APPLE_CLIENT_ID")
    # None to configure: signed per use (AppleProvider._client_secret).
    client_secret: str = Field(default="", repr=False)
    scopes: tuple[str, ...] = Field(alias="SOCIAL_APPLE_SCOPES")
    discovery_url: Endpoint = Field(alias="SOCIAL_APPLE_DISCOVERY_URL")
    client_ids: tuple[str, ...] = Field(alias="SOCIAL_APPLE_CLIENT_IDS")
    # Apple verifies addresses, and relays mail to the private ones itself.
    trust_email: bool = True
    # Sign in with Apple's SDKs (AuthenticationServices, its JS) all take a nonce.
    require_nonce: bool = Field(alias="SOCIAL_APPLE_REQUIRE_NONCE")
    team_id: str = Field(alias="SOCIAL_APPLE_TEAM_ID")
    key_id: str = Field(alias="SOCIAL_APPLE_KEY_ID")
    # The .p8 key's PEM (read from SOCIAL_APPLE_PRIVATE_KEY_FILE when that is set instead);
    # never in a repr, a log line or an error.
    private_key: str = Field(alias="SOCIAL_APPLE_PRIVATE_KEY", repr=False)
    private_key_file: str = Field(alias="SOCIAL_APPLE_PRIVATE_KEY_FILE")
    # The backend URL Apple posts the code to (response_mode=form_post), registered at Apple.
    form_post_uri: OptionalEndpoint = Field(alias="SOCIAL_APPLE_FORM_POST_URI")
    required: ClassVar[tuple[str, ...]] = ("team_id", "key_id", "private_key", "form_post_uri")

    @model_validator(mode="before")
    @classmethod
    def _private_key_from_file(cls, values: dict[str, Any]) -> dict[str, Any]:
        path = values.get("SOCIAL_APPLE_PRIVATE_KEY_FILE")
        if values.get("SOCIAL_APPLE_PRIVATE_KEY") or not path:
            return values
        try:
            return {**values, "SOCIAL_APPLE_PRIVATE_KEY": Path(path).read_text()}
        except OSError as exc:
            raise PydanticCustomError(
                "unreadable", "SOCIAL_APPLE_PRIVATE_KEY_FILE cannot be read ({reason})", {"reason": exc.strerror}
            ) from None

    def setting_name(self, field: str) -> str:
        if field == "private_key":
            return "SOCIAL_APPLE_PRIVATE_KEY or SOCIAL_APPLE_PRIVATE_KEY_FILE"
        return super().setting_name(field)
