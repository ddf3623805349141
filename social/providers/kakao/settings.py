"""Kakao's settings: each field's alias is the Django setting (and environment variable) it comes from."""

from pydantic import Field

from core.conf import settings_accessor
from social.providers.base import Endpoint
from social.providers.oauth2 import OAuth2Settings


class KakaoSettings(OAuth2Settings):
    name: str = "kakao"
    display_name: str = "Kakao"
    client_id: str = Field(alias="SOCIAL_KAKAO_CLIENT_ID")
    client_secret: str = Field(alias="SOCIAL_KAKAO_CLIENT_SECRET", repr=False)
    scopes: tuple[str, ...] = Field(alias="SOCIAL_KAKAO_SCOPES")
    authorize_url: Endpoint = Field(alias="SOCIAL_KAKAO_AUTHORIZE_URL")
    token_url: Endpoint = Field(alias="SOCIAL_KAKAO_TOKEN_URL")
    userinfo_url: Endpoint = Field(alias="SOCIAL_KAKAO_USERINFO_URL")
    # Kakao checks the address itself (three flags in /v2/user/me).
    trust_email: bool = True
    # Kakao's numeric app ID: a native app's access token must have been issued to it.
    app_id: str = Field(alias="SOCIAL_KAKAO_APP_ID")
    token_info_url: Endpoint = Field(alias="SOCIAL_KAKAO_TOKEN_INFO_URL")
    # Kakao Login's OpenID Connect: the apps' keys accepted as an id_token's audience at /token.
    client_ids: tuple[str, ...] = Field(alias="SOCIAL_KAKAO_CLIENT_IDS")
    discovery_url: Endpoint = Field(alias="SOCIAL_KAKAO_DISCOVERY_URL")
    # Whether /token refuses Kakao's id_tokens sent without their nonce (Kakao's SDKs take one).
    require_nonce: bool = Field(alias="SOCIAL_KAKAO_REQUIRE_NONCE")
    # The Admin key: unlinking users at Kakao, and checking Kakao's unlink callback.
    admin_key: str = Field(alias="SOCIAL_KAKAO_ADMIN_KEY", repr=False)
    unlink_url: Endpoint = Field(alias="SOCIAL_KAKAO_UNLINK_URL")

    @property
    def native(self) -> tuple[str, ...]:
        return ("access_token",) * bool(self.app_id) + ("id_token",) * bool(self.client_ids)


# Kakao's settings for its webhooks, which need them whether or not the rest of social.conf is built.
kakao_settings = settings_accessor(KakaoSettings.from_django_settings)
