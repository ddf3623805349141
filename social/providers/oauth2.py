"""A plain OAuth 2.0 provider: fixed endpoints in its settings, no nonce, no id_token."""

from social.providers.base import Endpoint, Provider, ProviderSettings


class OAuth2Settings(ProviderSettings):
    authorize_url: Endpoint
    token_url: Endpoint
    userinfo_url: Endpoint


class OAuth2Provider(Provider):
    config: OAuth2Settings

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str, nonce: str | None) -> str:
        return self._authorization_url(
            self.config.authorize_url, redirect_uri=redirect_uri, state=state, code_verifier=code_verifier
        )
