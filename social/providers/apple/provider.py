"""Sign in with Apple: OpenID Connect with a signed client secret, the code posted to the backend (form_post)."""

from typing import Any

from django.core.checks import CheckMessage, Error

from social.providers.apple.client_secret import apple_client_secret, apple_signing_key
from social.providers.apple.mapping import apple_identity, apple_user_name
from social.providers.apple.settings import AppleSettings
from social.providers.base import ProviderSettings
from social.providers.oidc import OpenIDConnectProvider


class AppleProvider(OpenIDConnectProvider):
    settings_class = AppleSettings
    config: AppleSettings
    map_claims = staticmethod(apple_identity)
    # Apple posts the code to SOCIAL_APPLE_FORM_POST_URI when name or email are asked for;
    # /form-post hands it to the frontend's redirect_uri (social_form_post_forward).
    uses_form_post = True

    @classmethod
    def check(cls, config: ProviderSettings) -> list[CheckMessage]:
        """The client secret is signed with the .p8 key at each renewal: a bad key fails every login."""
        assert isinstance(config, AppleSettings)
        try:
            apple_signing_key(config.private_key)
        except ValueError as exc:
            return [
                Error(
                    f"SOCIAL_APPLE_PRIVATE_KEY(_FILE) is unusable: {exc}.",
                    hint="Use the .p8 file Apple gave for the key SOCIAL_APPLE_KEY_ID names.",
                    id="social.E002",
                )
            ]
        return []

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str, nonce: str | None) -> str:
        assert nonce is not None, "uses_nonce: social_login_begin makes one"
        return self._authorization_url(
            self.metadata["authorization_endpoint"],
            redirect_uri=self.config.form_post_uri,
            state=state,
            code_verifier=code_verifier,
            nonce=nonce,
            response_mode="form_post",
        )

    def exchange(self, *, code: str, code_verifier: str, redirect_uri: str, state: str) -> dict[str, Any]:
        # The code was issued for the URL Apple posted it to, not the frontend's.
        return super().exchange(
            code=code, code_verifier=code_verifier, redirect_uri=self.config.form_post_uri, state=state
        )

    def _client_secret(self) -> str:
        return apple_client_secret(self.config)

    def posted_display_name(self, user: str | None) -> str:
        return apple_user_name(user)
