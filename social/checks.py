"""Start-up checks of the social app's settings."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from social.conf import incomplete_providers, social_settings
from social.providers.registry import provider_class


@register(Tags.security)
def social_settings_build(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """Builds the settings as the first sign-in would, so that a broken one stops the start, not that sign-in."""
    try:
        social_settings()
    except ImproperlyConfigured as exc:  # the message names the setting
        return [Error(str(exc), hint="docs/configuration.md lists each SOCIAL_ variable.", id="social.E001")]
    return []


@register(Tags.compatibility)
def providers_complete(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """A provider with a client id but a missing setting is not offered; say which setting."""
    try:
        incomplete = incomplete_providers()
    except ImproperlyConfigured:
        return []  # social.E001 reports it
    return [
        Warning(
            f"The {provider.name} provider is not offered: {', '.join(provider.missing)} not set.",
            hint="Set them, or unset its client id (docs/providers.md).",
            id="social.W001",
        )
        for provider in incomplete
    ]


@register(Tags.security)
def providers_usable(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """Each offered provider's own checks (Provider.check): Apple's key, for one."""
    try:
        configs = social_settings().providers.values()
    except ImproperlyConfigured:
        return []  # social.E001 reports it
    return [message for config in configs for message in provider_class(config).check(config)]
