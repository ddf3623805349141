"""Naver's settings: each field's alias is the Django setting (and environment variable) it comes from."""

from typing import ClassVar

from pydantic import Field

from social.providers.base import Endpoint
from social.providers.oauth2 import OAuth2Settings


class NaverSettings(OAuth2Settings):
    name: str = "naver"
    display_name: str = "Naver"
    client_id: str = Field(alias="SOCIAL_NAVER_CLIENT_ID")
    client_secret: str = Field(alias="SOCIAL_NAVER_CLIENT_SECRET", repr=False)
    authorize_url: Endpoint = Field(alias="SOCIAL_NAVER_AUTHORIZE_URL")
    token_url: Endpoint = Field(alias="SOCIAL_NAVER_TOKEN_URL")
    userinfo_url: Endpoint = Field(alias="SOCIAL_NAVER_USERINFO_URL")
    # Naver reports no verification of the address: believed only when configured so.
    trust_email: bool = Field(alias="SOCIAL_NAVER_TRUST_EMAIL")
    # No Naver API says which app a token was issued to, so Naver is web-only (docs/mobile.md):
    # `native` stays empty.
    required: ClassVar[tuple[str, ...]] = ("client_secret",)
