"""System checks for what would make a deployment unsafe or broken."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from core.clients import client_ip
from core.throttling import Throttle


@register(Tags.security)
def secret_key_check(app_configs, **kwargs):
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


@register(Tags.caches, deploy=True)
def shared_cache_check(app_configs, **kwargs):
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("LocMemCache", "DummyCache")):
        return [
            Warning(
                f"The cache ({backend.rsplit('.', 1)[-1]}) is not shared between worker processes: "
                "pending social logins, the session denylist and throttle counters need it to be.",
                hint="Set REDIS_URL (redis://host:6379/0) in production.",
                id="core.W001",
            )
        ]
    return []


@register(Tags.security)
def throttle_settings_check(app_configs, **kwargs):
    errors = [
        Error(
            f"API_THROTTLE_{scope.upper()} is {rate!r}, not a rate.",
            hint="Write requests/period, e.g. 60/min, 10/s, 1000/hour or 5000/day; empty turns the limit off.",
            id="core.E002",
        )
        for scope, rate in settings.API_THROTTLE_RATES.items()
        if rate and not _is_rate(rate)
    ]
    if settings.API_NUM_PROXIES < 0:
        errors.append(
            Error(
                f"API_NUM_PROXIES is {settings.API_NUM_PROXIES}; it counts proxies, so it is 0 or more.",
                id="core.E003",
            )
        )
    return errors


@register()
def database_request_concurrency_check(app_configs, **kwargs):
    if settings.DATABASE_REQUEST_CONCURRENCY < 0:
        return [
            Error(
                f"DATABASE_REQUEST_CONCURRENCY is {settings.DATABASE_REQUEST_CONCURRENCY}; it counts requests, "
                "so it is 1 or more (0: the server's threads per process minus two).",
                id="core.E004",
            )
        ]
    return []


def _is_rate(rate: str) -> bool:
    try:
        count, duration = Throttle("check", client_ip).parse_rate(rate)
    except ValueError:
        return False
    return count is not None and count >= 0 and duration is not None and duration > 0
