"""Core services: the health check."""

import logging

from django.core.cache import cache
from django.db import connection

from core.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

_HEALTH_KEY = "core:health"


def health_check() -> dict[str, str]:
    """Touches the database and the cache; raises ServiceUnavailable naming the part that failed."""
    report = {"database": "ok", "cache": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        logger.exception("Health check: database unreachable")
        report["database"] = "unavailable"
    try:
        cache.set(_HEALTH_KEY, "ok", timeout=5)
        if cache.get(_HEALTH_KEY) != "ok":
            raise RuntimeError("cache did not return what was stored")
    except Exception:
        logger.exception("Health check: cache unreachable")
        report["cache"] = "unavailable"
    if "unavailable" in report.values():
        raise ServiceUnavailable("The database or the cache cannot be reached.", **report)
    return {"status": "ok", **report}
