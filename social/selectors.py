"""Reads of the social app that change nothing."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from social.conf import social_settings
from social.errors import ProviderUnknown
from social.models import SocialAccount
from social.providers.base import Provider
from social.providers.registry import provider_class


def provider_list() -> list[dict[str, Any]]:
    """The configured providers (those with a client id), in the registry's order."""
    return [
        {"name": config.name, "display_name": config.display_name, "native": list(config.native)}
        for config in social_settings().providers.values()
    ]


def provider_get(name: str) -> Provider:
    """The configured provider of this name; ProviderUnknown if there is none."""
    conf = social_settings()
    config = conf.providers.get(name)
    if config is None:
        raise ProviderUnknown(_("No provider named %(name)s is configured.") % {"name": repr(name)})
    return provider_class(config)(config, timeout=conf.http_timeout)


def social_account_list(*, user_id: int) -> list[SocialAccount]:
    """The identities linked to a user, oldest first."""
    return list(SocialAccount.objects.filter(user_id=user_id).order_by("first_login_at", "pk"))
