"""Core services: readiness, one probe per dependency."""

import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ServiceUnavailable, Text
from core.outages import RETRY_AFTER_SECONDS, outage_log
from core.tasks import oldest_unsent_enqueued_at

_HEALTH_KEY = "core:health"


# PostgreSQL: whether a commit would wait for a synchronous standby and none is connected (the commit then waits
# until one returns or the setting changes: statement_timeout does not bound it, PostgreSQL lifts it before the
# COMMIT). A standby whose sync_state this role may not see (neither superuser nor pg_read_all_stats) counts as
# synchronous: the probe then catches only the standby-less case, never a false alarm.
_WRITES_WAIT_FOR_NO_STANDBY = """
    SELECT current_setting('synchronous_standby_names') <> ''
        AND current_setting('synchronous_commit') IN ('on', 'remote_write', 'remote_apply')
        AND NOT EXISTS (
            SELECT FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum') OR sync_state IS NULL
        )
"""


class DependencyNotReady(Exception):
    """The dependency answers, but cannot serve; `detail` says why, for the readiness problem's reader."""

    def __init__(self, message: str, detail: Text) -> None:
        super().__init__(message)  # for the log, which is never translated
        self.detail = detail


def _database_probe() -> None:
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("SELECT 1")
            return
        # The same single round trip as a SELECT 1.
        cursor.execute(_WRITES_WAIT_FOR_NO_STANDBY)
        if cursor.fetchone()[0]:
            raise DependencyNotReady(
                "writes wait for a synchronous standby and none is connected",
                _("Writes to the database wait for a synchronous standby, and none is connected."),
            )


def _cache_probe() -> None:
    cache.set(_HEALTH_KEY, "ok", timeout=5)
    if cache.get(_HEALTH_KEY) != "ok":
        raise RuntimeError("the cache did not return what was stored")


_PROBES: dict[str, Callable[[], None]] = {"database": _database_probe, "cache": _cache_probe}


class NotReady(ServiceUnavailable):
    title = _("A dependency is unavailable")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _probe(name: str, probe: Callable[[], None]) -> tuple[dict[str, object], Text | None]:
    """The dependency's report, and why it is not ready when the probe knows (DependencyNotReady)."""
    started = time.perf_counter()
    reason = None
    try:
        probe()
    except Exception as exc:  # a probe: whatever fails, the dependency is not ready
        outage_log.report(name, exc, "readiness")
        status = "unavailable"
        if isinstance(exc, DependencyNotReady):
            reason = exc.detail
    else:
        status = "ok"
    return {"status": status, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}, reason


def readiness_check() -> dict[str, object]:
    """Probes each dependency in turn; NotReady (503) with every probe's report if one is down.

    Each probe is bounded by the dependency's own timeouts (DATABASE_CONNECT_TIMEOUT and
    DATABASE_STATEMENT_TIMEOUT, the cache's socket timeouts), so a hung dependency makes
    readiness slow and then 503, never stuck.
    """
    checks: dict[str, Any] = {}
    reasons: list[Text] = []
    for name, probe in _PROBES.items():
        checks[name], reason = _probe(name, probe)
        if reason is not None:
            reasons.append(reason)
    if any(check["status"] != "ok" for check in checks.values()):
        down = ", ".join(name for name, check in checks.items() if check["status"] != "ok")
        # A reason is a sentence of its own after the list: spliced into it, it would not translate.
        unavailable = _("Unavailable: %(dependencies)s.") % {"dependencies": down}
        detail = " ".join(str(sentence) for sentence in [unavailable, *reasons])
        raise NotReady(detail, **checks)
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
