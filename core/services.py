"""Core services: readiness, one probe per dependency."""

import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ServiceUnavailable
from core.outages import RETRY_AFTER_SECONDS, outage_log
from core.tasks import oldest_unsent_enqueued_at

_HEALTH_KEY = "core:health"


def _database_probe() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache_probe() -> None:
    cache.set(_HEALTH_KEY, "ok", timeout=5)
    if cache.get(_HEALTH_KEY) != "ok":
        raise RuntimeError("the cache did not return what was stored")


_PROBES: dict[str, Callable[[], None]] = {"database": _database_probe, "cache": _cache_probe}


class NotReady(ServiceUnavailable):
    title = _("A dependency is unavailable")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _probe(name: str, probe: Callable[[], None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # a probe: whatever fails, the dependency is not ready
        outage_log.report(name, exc, "readiness")
        status = "unavailable"
    else:
        status = "ok"
    return {"status": status, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def readiness_check() -> dict[str, object]:
    """Probes each dependency in turn; NotReady (503) with every probe's report if one is down.

    Each probe is bounded by the dependency's own timeouts (DATABASE_CONNECT_TIMEOUT and
    DATABASE_STATEMENT_TIMEOUT, the cache's socket timeouts), so a hung dependency makes
    readiness slow and then 503, never stuck.
    """
    checks: dict[str, Any] = {name: _probe(name, probe) for name, probe in _PROBES.items()}
    if any(check["status"] != "ok" for check in checks.values()):
        down = ", ".join(name for name, check in checks.items() if check["status"] != "ok")
        raise NotReady(_("Unavailable: %(dependencies)s.") % {"dependencies": down}, **checks)
    return {"status": "ok", **checks, "tasks": _task_queue_report()}


def _task_queue_report() -> dict[str, Any]:
    """How long the oldest task that is due has waited for a worker, of all queues and of each (None: none
    waits): a stopped `db_worker`, or a queue no worker drains, shows as a number that keeps growing, for
    the operator's alert to act on."""
    now = timezone.now()
    ages = {
        queue: None if enqueued_at is None else round((now - enqueued_at).total_seconds(), 1)
        for queue, enqueued_at in oldest_unsent_enqueued_at().items()
    }
    return {
        "oldest_unsent_age_s": max((age for age in ages.values() if age is not None), default=None),
        "queues": ages,
    }
