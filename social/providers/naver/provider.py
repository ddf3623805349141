"""Naver Login: OAuth 2.0 whose state goes to the token endpoint too, and whose profile comes in an envelope."""

from typing import Any

from social.providers.base import Identity
from social.providers.naver.mapping import naver_identity
from social.providers.naver.settings import NaverSettings
from social.providers.oauth2 import OAuth2Provider


class NaverProvider(OAuth2Provider):
    settings_class = NaverSettings
    config: NaverSettings

    def exchange(self, *, code: str, code_verifier: str, redirect_uri: str, state: str) -> dict[str, Any]:
        return self._fetch_token(
            self.config.token_url,
            code=code,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 (a method name)
            state=state,
        )

    def identity(self, token: dict[str, Any], *, nonce: str | None) -> Identity:
        return self.vouched(naver_identity(self._get_json(self.config.userinfo_url, token=token)))
