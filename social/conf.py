"""The social app's settings, read through `social_settings()` (see core.conf).

Each provider's own settings are declared and validated in its folder (social/providers/<name>/settings.py);
this gathers the offered ones with the settings every provider shares.
"""

from dataclasses import dataclass

from django.conf import settings

from core.conf import settings_accessor
from social.providers.base import ProviderSettings
from social.providers.registry import provider_settings


@dataclass(frozen=True)
class IncompleteProvider:
    """A provider given a client id but not everything else it needs: not offered (social.W001)."""

    name: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class SocialSettings:
    # Only the providers with a client id and complete settings, in the order the frontend shows them.
    providers: dict[str, ProviderSettings]
    redirect_uris: frozenset[str]
    http_timeout: tuple[float, float]
    # One wall-clock bound on all of a callback's requests to its provider (social.outbound).
    callback_deadline: float
    # Callbacks each process runs at once; the excess answers 503 provider_busy.
    callback_concurrency: int
    pending_login_ttl: int
    link_by_verified_email: bool
    require_email: bool
    bind_to_browser: bool


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
    return SocialSettings(
        providers={config.name: config for config in _candidates() if not config.missing()},
        redirect_uris=frozenset(settings.SOCIAL_REDIRECT_URIS),
        http_timeout=(settings.SOCIAL_HTTP_CONNECT_TIMEOUT, settings.SOCIAL_HTTP_READ_TIMEOUT),
        callback_deadline=settings.SOCIAL_CALLBACK_DEADLINE,
        callback_concurrency=settings.SOCIAL_CALLBACK_CONCURRENCY,
        pending_login_ttl=settings.SOCIAL_PENDING_LOGIN_TTL,
        link_by_verified_email=settings.SOCIAL_LINK_BY_VERIFIED_EMAIL,
        require_email=settings.SOCIAL_REQUIRE_EMAIL,
        bind_to_browser=settings.SOCIAL_BIND_TO_BROWSER,
    )
