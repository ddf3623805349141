"""The social app's settings, declared and validated in one form (core.conf.AppSettings).

Each provider's own settings are declared and validated in its folder (social/providers/<name>/settings.py);
this gathers the offered ones with the settings every provider shares.
"""

from dataclasses import dataclass

from pydantic import Field

from core.conf import AppSettings, settings_accessor
from social.providers.base import ProviderSettings
from social.providers.registry import provider_settings


@dataclass(frozen=True)
class IncompleteProvider:
    """A provider given a client id but not everything else it needs: not offered (social.W001)."""

    name: str
    missing: tuple[str, ...]


class SocialSettings(AppSettings):
    # Only the providers with a client id and complete settings, in the order the frontend shows them.
    providers: dict[str, ProviderSettings]
    redirect_uris: frozenset[str] = Field(alias="SOCIAL_REDIRECT_URIS")
    connect_timeout: float = Field(alias="SOCIAL_HTTP_CONNECT_TIMEOUT")
    read_timeout: float = Field(alias="SOCIAL_HTTP_READ_TIMEOUT")
    # One wall-clock bound on all of a callback's requests to its provider (social.outbound).
    callback_deadline: float = Field(alias="SOCIAL_CALLBACK_DEADLINE")
    # Callbacks each process runs at once; the excess answers 503 provider_busy.
    callback_concurrency: int = Field(alias="SOCIAL_CALLBACK_CONCURRENCY")
    pending_login_ttl: int = Field(alias="SOCIAL_PENDING_LOGIN_TTL")
    link_by_verified_email: bool = Field(alias="SOCIAL_LINK_BY_VERIFIED_EMAIL")
    require_email: bool = Field(alias="SOCIAL_REQUIRE_EMAIL")
    bind_to_browser: bool = Field(alias="SOCIAL_BIND_TO_BROWSER")

    @property
    def http_timeout(self) -> tuple[float, float]:
        """Each request's (connect, read) timeouts, as requests takes them."""
        return (self.connect_timeout, self.read_timeout)


def _candidates() -> list[ProviderSettings]:
    return [config for config in provider_settings() if config.client_id]


def incomplete_providers() -> list[IncompleteProvider]:
    """Providers given a client id that lack another setting they need (social.checks)."""
    return [
        IncompleteProvider(name=config.name, missing=missing)
        for config in _candidates()
        if (missing := config.missing())
    ]


@settings_accessor
def social_settings() -> SocialSettings:
    # The providers are validated by their own settings classes, each named after its settings.
    return SocialSettings.from_django_settings(
        providers={config.name: config for config in _candidates() if not config.missing()}
    )
