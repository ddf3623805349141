"""Refuses to start with the development identity provider on and DEBUG off."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Tags, register

from devidp.conf import dev_idp_settings


@register(Tags.security)
def dev_provider_needs_debug(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    conf = dev_idp_settings()
    if conf.requested and not conf.debug:
        return [
            Error(
                "SOCIAL_DEV_PROVIDER is on but DJANGO_DEBUG is off: the development identity "
                "provider signs anyone in as any email and must never run in production.",
                hint="Unset SOCIAL_DEV_PROVIDER (it is for `make run` only).",
                id="devidp.E001",
            )
        ]
    return []
