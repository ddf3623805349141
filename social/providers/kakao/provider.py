"""Kakao Login: plain OAuth 2.0 in the browser; a native SDK's access token or id_token at /token."""

import logging
from typing import Any

import requests
from django.utils.translation import gettext_lazy as _

from core.errors import Problem
from social.errors import ProviderTokenInvalid, ProviderUnavailable, TokenAudienceInvalid
from social.providers.base import Identity
from social.providers.kakao.mapping import kakao_id_token_identity, kakao_identity
from social.providers.kakao.settings import KakaoSettings
from social.providers.kakao.webhooks import router
from social.providers.oauth2 import OAuth2Provider
from social.providers.oidc import OIDCSettings, OpenIDConnectProvider

logger = logging.getLogger(__name__)

# Kakao's API error for a user who is not linked to the app (Kakao's REST API error codes).
KAKAO_NOT_LINKED = -101


class KakaoOpenIDConnect(OpenIDConnectProvider):
    """Kakao's id_tokens, checked as any OpenID Connect provider's; used by KakaoProvider only."""

    map_claims = staticmethod(kakao_id_token_identity)


class KakaoProvider(OAuth2Provider):
    settings_class = KakaoSettings
    config: KakaoSettings
    webhooks = router

    def exchange(self, *, code: str, code_verifier: str, redirect_uri: str, state: str) -> dict[str, Any]:
        # Kakao takes the secret in the form, and none at all unless "Client Secret" is enabled.
        return self._fetch_token(
            self.config.token_url,
            code=code,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            token_endpoint_auth_method="client_secret_post" if self.config.client_secret else "none",
        )

    def identity(self, token: dict[str, Any], *, nonce: str | None) -> Identity:
        return self.vouched(kakao_identity(self._kakao_user(token)))

    def identity_from_id_token(self, id_token: str, *, nonce: str | None) -> Identity:
        """Kakao Login's OpenID Connect id_token, verified through Kakao's discovery document and keys."""
        if not self.config.client_ids:
            return super().identity_from_id_token(id_token, nonce=nonce)
        kakao_oidc = KakaoOpenIDConnect(
            OIDCSettings(
                name=self.name,
                display_name=self.config.display_name,
                client_id=self.config.client_id,
                discovery_url=self.config.discovery_url,
                client_ids=self.config.client_ids,
                require_nonce=self.config.require_nonce,
            ),
            timeout=self.timeout,
        )
        return kakao_oidc.identity_from_id_token(id_token, nonce=nonce)

    def identity_from_access_token(self, access_token: str) -> Identity:
        """A Kakao SDK's token, once Kakao says it was issued to our app (any Kakao app can mint one)."""
        if not self.config.app_id:
            return super().identity_from_access_token(access_token)
        token = {"access_token": access_token, "token_type": "bearer"}
        info = self._get_json(self.config.token_info_url, token=token, refused_token=ProviderTokenInvalid)
        if str(info.get("app_id")) != self.config.app_id:
            raise TokenAudienceInvalid(_("Kakao issued this access token to another app."))
        identity = kakao_identity(self._kakao_user(token, refused_token=ProviderTokenInvalid))
        if identity.subject != str(info.get("id")):
            raise ProviderUnavailable(_("Kakao's token info and user info name different users."))
        return self.vouched(identity)

    @property
    def revokes(self) -> bool:
        # Unlinking at Kakao needs the app's Admin key.
        return bool(self.config.admin_key)

    def revoke(self, *, subject: str) -> None:
        """Unlinks a user from the app at Kakao ("Unlink" with the Admin key), as if they had done it.

        Kakao answers `{"id": <user id>}`; -101 means the user is not linked to the app
        (already unlinked), which is the state wanted.
        """
        with self._outbound("unlink"):
            response = requests.post(
                self.config.unlink_url,
                headers={"Authorization": f"KakaoAK {self.config.admin_key}"},
                data={"target_id_type": "user_id", "target_id": subject},
                timeout=self.timeout,
            )
            body = response.json()
        if not isinstance(body, dict):
            raise ProviderUnavailable(_("Kakao's unlink answer is not a JSON object."))
        if response.status_code == 200 and str(body.get("id")) == subject:
            return
        if body.get("code") == KAKAO_NOT_LINKED:
            return
        provider_error = str(body.get("code") or "")
        logger.warning("kakao refused an unlink: HTTP %s (%s)", response.status_code, provider_error)
        raise ProviderUnavailable(
            _("Kakao refused to unlink the user (HTTP %(status)s).") % {"status": response.status_code},
            **({"provider_error": provider_error} if provider_error else {}),
        )

    def _kakao_user(
        self, token: dict[str, Any], *, refused_token: type[Problem] = ProviderUnavailable
    ) -> dict[str, Any]:
        # secure_resource: image URLs over https (Kakao's default is http, which the mapping drops).
        return self._get_json(
            self.config.userinfo_url, token=token, params={"secure_resource": "true"}, refused_token=refused_token
        )
