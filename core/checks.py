"""System checks for what would make a deployment unsafe or broken."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


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
