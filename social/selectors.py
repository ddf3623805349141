"""Reads of the social app that change nothing."""

from typing import Any

from social.conf import social_settings
from social.models import SocialAccount


def provider_list() -> list[dict[str, Any]]:
    """The configured providers (those with a client id): Kakao, Google, then the configured ones."""
    return [
        {"name": config.name, "display_name": config.display_name, "native": list(config.native)}
        for config in social_settings().providers.values()
    ]


def social_account_list(*, user_id: int) -> list[SocialAccount]:
    """The identities linked to a user, oldest first."""
    return list(SocialAccount.objects.filter(user_id=user_id).order_by("first_login_at", "pk"))
