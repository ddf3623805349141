"""Start-up checks of the social app's settings."""

from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from social.conf import APPLE, incomplete_providers, social_settings
from social.providers import apple_signing_key


@register(Tags.security)
def social_settings_build(app_configs, **kwargs):
    """Builds the settings as the first sign-in would, so that a broken one stops the start, not that sign-in."""
    try:
        social_settings()
    except ImproperlyConfigured as exc:  # the message names the setting
        return [Error(str(exc), hint="docs/configuration.md lists each SOCIAL_ variable.", id="social.E001")]
    return []


@register(Tags.compatibility)
def providers_complete(app_configs, **kwargs):
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
def apple_key_usable(app_configs, **kwargs):
    """Apple's client secret is signed with the .p8 key at each renewal: a bad key fails every login."""
    try:
        apple = social_settings().providers.get(APPLE)
    except ImproperlyConfigured:
        return []  # social.E001 reports it
    private_key = getattr(apple, "private_key", "")
    if not private_key:
        return []
    try:
        apple_signing_key(private_key)
    except ValueError as exc:
        return [
            Error(
                f"SOCIAL_APPLE_PRIVATE_KEY(_FILE) is unusable: {exc}.",
                hint="Use the .p8 file Apple gave for the key SOCIAL_APPLE_KEY_ID names.",
                id="social.E002",
            )
        ]
    return []
