"""System checks for what would make a deployment unsafe or broken."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from core.clients import client_ip
from core.conf import CoreSettings, core_settings, fault_errors
from core.throttling import Throttle


@register(Tags.security)
def secret_key_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG:
        return []
    if not settings.SECRET_KEY or settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET_KEY:
        return [
            Error(
                "DJANGO_SECRET_KEY is missing or the development default, and DJANGO_DEBUG is off.",
                hint="Set DJANGO_SECRET_KEY to a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(50))').",
                id="core.E001",
            )
        ]
    return []


def cache_is_shared() -> bool:
    """Whether every process of the deployment sees the same cache (local memory is one process's)."""
    return not settings.CACHES["default"]["BACKEND"].endswith(("LocMemCache", "DummyCache"))


@register(Tags.caches)
def shared_cache_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """Per-process security state is an error in production, not a warning.

    The session denylist, id_token spends, pending social logins and throttle counters live
    in the cache. In one worker's memory, a session ended in one worker lives on in the others
    (the review measured 19 of 40 whoami calls answered after the account was deleted) and an
    id_token is spent once per worker. gunicorn.conf.py refuses more than one worker on such a
    cache whatever this says; this also refuses a server that did not declare itself alone.
    """
    try:
        if settings.DEBUG or cache_is_shared() or core_settings().single_process:
            return []
    except ImproperlyConfigured:
        return []  # throttle_settings_check and database_request_concurrency_check say why
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return [
        Error(
            f"The cache ({backend}) is not shared between processes and DJANGO_DEBUG is off: the session denylist, "
            "id_token replay protection, pending social logins and throttle counters would hold per process only.",
            hint="Set REDIS_URL (redis://host:6379/0), or for exactly one process API_SINGLE_PROCESS=1.",
            id="core.E006",
        )
    ]


@register(Tags.security)
def throttle_settings_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = [
        Error(
            f"API_THROTTLE_{scope.upper()} is {rate!r}, not a rate.",
            hint="Write requests/period, e.g. 60/min, 10/s, 1000/hour or 5000/day; empty turns the limit off.",
            id="core.E002",
        )
        for scope, rate in settings.API_THROTTLE_RATES.items()
        if rate and not _is_rate(rate)
    ]
    return errors + fault_errors(
        CoreSettings, {"API_THROTTLE_IPV6_PREFIX": "core.E007", "API_NUM_PROXIES": "core.E003"}
    )


@register()
def database_request_concurrency_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    return fault_errors(CoreSettings, {"DATABASE_REQUEST_CONCURRENCY": "core.E008"})


@register()
def tasks_stranded_after_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """A bound a live task can reach would run it twice at once; the slowest task waits on a few SMTP or
    webhook requests, each cut at its timeout."""
    floor = 3 * max(settings.EMAIL_TIMEOUT, settings.WEBHOOKS_DELIVERY_DEADLINE)
    if floor > settings.TASKS_STRANDED_AFTER:
        return [
            Error(
                f"TASKS_STRANDED_AFTER is {settings.TASKS_STRANDED_AFTER} s: a task still running after it counts "
                "as stranded by a dead worker and runs again, so it must exceed what a task takes.",
                hint=f"Set it to at least {floor} s, three times the longer of EMAIL_TIMEOUT and "
                "WEBHOOKS_DELIVERY_DEADLINE (default 300).",
                id="core.E009",
            )
        ]
    return []


def _is_rate(rate: str) -> bool:
    try:
        count, duration = Throttle("check", client_ip).parse_rate(rate)
    except ValueError:
        return False
    return count is not None and count >= 0 and duration is not None and duration > 0
