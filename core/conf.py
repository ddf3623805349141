"""The base of every app's settings accessor.

Each app has a `conf.py` with one frozen dataclass and one function that builds it from
`django.conf.settings`. Wrapping that function in `settings_accessor` caches the result
until a setting changes (override_settings, pytest-django's `settings` fixture), so hot
paths pay a dict lookup, not a rebuild, and tests still see the values they set.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.core.signals import setting_changed

T = TypeVar("T")
F = TypeVar("F", bound=functools._lru_cache_wrapper)

_accessors: list[functools._lru_cache_wrapper] = []


def settings_accessor(build: Callable[[], T]) -> Callable[[], T]:
    return forget_when_settings_change(functools.cache(build))


def forget_when_settings_change(cached: F) -> F:
    """Registers any functools cache that depends on settings, to be cleared when one changes."""
    _accessors.append(cached)
    return cached


def _forget_cached_settings(**_kwargs: object) -> None:
    for accessor in _accessors:
        accessor.cache_clear()


setting_changed.connect(_forget_cached_settings, dispatch_uid="core.conf.forget_cached_settings")


@dataclass(frozen=True)
class CoreSettings:
    # Throttle scope -> Ninja rate ("60/min"); an empty rate means no limit.
    throttle_rates: dict[str, str]
    # How many proxies of ours sit in front of the server (core.clients).
    num_proxies: int
    # How many leading bits of an IPv6 address name one client for the per-IP limits (core.clients).
    ipv6_prefix: int
    # The operator's word that one process serves the API, so a per-process cache is complete (core.checks).
    single_process: bool
    # Requests per process that may use the database at once (core.bulkhead); None: the
    # server's threads minus two.
    database_request_concurrency: int | None
    # How long a task may be RUNNING before its worker counts as dead and the task is run again (core.tasks).
    tasks_stranded_after: timedelta


@settings_accessor
def core_settings() -> CoreSettings:
    return CoreSettings(
        throttle_rates=dict(settings.API_THROTTLE_RATES),
        num_proxies=settings.API_NUM_PROXIES,
        ipv6_prefix=settings.API_THROTTLE_IPV6_PREFIX,
        single_process=settings.API_SINGLE_PROCESS,
        database_request_concurrency=settings.DATABASE_REQUEST_CONCURRENCY or None,
        tasks_stranded_after=timedelta(seconds=settings.TASKS_STRANDED_AFTER),
    )
