"""Any OpenID Connect provider configured by its discovery URL (SOCIAL_OIDC_PROVIDERS_JSON)."""

from collections.abc import Collection

from social.providers.base import ProviderSettings
from social.providers.oidc import OpenIDConnectProvider
from social.providers.openid_connect.settings import ConfiguredOIDCSettings


class ConfiguredOIDCProvider(OpenIDConnectProvider):
    settings_class = ConfiguredOIDCSettings
    config: ConfiguredOIDCSettings

    @classmethod
    def configured(cls, *, taken: Collection[str]) -> list[ProviderSettings]:
        return list(ConfiguredOIDCSettings.from_entries(taken=taken))
