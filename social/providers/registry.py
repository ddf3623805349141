"""The providers this backend knows, in the order the frontend shows their buttons: the one list.

Adding a built-in provider is a folder beside the others and one line here (docs/providers.md);
tests/api/test_social_provider_contract.py runs every class listed through the same contract.
"""

from social.providers.apple.provider import AppleProvider
from social.providers.base import Provider, ProviderSettings
from social.providers.google.provider import GoogleProvider
from social.providers.kakao.provider import KakaoProvider
from social.providers.naver.provider import NaverProvider
from social.providers.openid_connect.provider import ConfiguredOIDCProvider

PROVIDERS: tuple[type[Provider], ...] = (
    KakaoProvider,
    NaverProvider,
    GoogleProvider,
    AppleProvider,
    # Last: each entry of SOCIAL_OIDC_PROVIDERS_JSON, the dev provider's included.
    ConfiguredOIDCProvider,
)


def provider_settings() -> list[ProviderSettings]:
    """Every provider's settings, whether or not it is offered (social.conf picks those with a client id)."""
    configs: list[ProviderSettings] = []
    for cls in PROVIDERS:
        configs += cls.configured(taken=[config.name for config in configs])
    return configs


def provider_class(config: ProviderSettings) -> type[Provider]:
    """The class that serves a provider of these settings."""
    return next(cls for cls in PROVIDERS if type(config) is cls.settings_class)
