"""A database or cache that is down, hung or refusing: 503 `service_unavailable`, never a 500.

A dependency outage is nothing the client did and nothing a code change fixes: the client
should retry later, and Retry-After says when. An outage also fails every request at once,
so each process logs it as one line per dependency and window (no traceback: the cause is
the dependency, not the code), then counts what it did not log. Recovery needs no restart:
Django reopens a database connection that failed (CONN_HEALTH_CHECKS) and redis-py
reconnects on the next command.

`install(api)` routes these errors here for the API; `OutageMiddleware` does the same for
everything else Django serves (the sign-in page, the admin).
"""

import logging
import threading
import time

from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import ServiceUnavailable, Text
from core.http import GetResponse
from core.problems import problem_from

logger = logging.getLogger(__name__)

# Connection refused or lost, connect or statement timeout (psycopg's QueryCanceled is an
# OperationalError), SQLite's "database is locked". Not IntegrityError or ProgrammingError:
# those are the code's business and stay 500s.
DATABASE_ERRORS: tuple[type[Exception], ...] = (DatabaseOperationalError, DatabaseInterfaceError)
# Refused, reset, timed out, still loading its data after a restart (BusyLoadingError is a
# ConnectionError).
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
OUTAGE_ERRORS = DATABASE_ERRORS + CACHE_ERRORS

# What the client is told to wait: long enough for a restart, short enough to notice recovery.
RETRY_AFTER_SECONDS = 5
# One log line per dependency per window, per process.
LOG_WINDOW_SECONDS = 30.0


# By dependency (dependency_of), a sentence each: a word spliced into one would not translate.
_UNREACHABLE = {
    "database": _("The database cannot be reached; retry later."),
    "cache": _("The cache cannot be reached; retry later."),
}


class DependencyUnavailable(ServiceUnavailable):
    """The database or the cache failed while serving the request."""

    def __init__(self, dependency: str, detail: Text | None = None) -> None:
        super().__init__(detail or _UNREACHABLE[dependency], dependency=dependency)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


class DatabaseBusy(DependencyUnavailable):
    """The process's requests already hold every thread the database bulkhead allows (core.bulkhead).

    The same answer as an outage: the cause is a database that has stopped answering (or
    answers too slowly for the traffic), not the client.
    """

    def __init__(self) -> None:
        super().__init__("database", _("Too many requests are waiting on the database; retry later."))


def dependency_of(exc: BaseException) -> str:
    return "database" if isinstance(exc, DATABASE_ERRORS) else "cache"


def first_line(exc: BaseException) -> str:
    """An error's first line: enough to tell refused from timed out, and no query parameters (which
    may hold a token's id) from the error's later lines."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


class OutageLog:
    """Logs the first failure of each dependency in a window and counts the rest."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._logged_at: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def report(self, dependency: str, exc: BaseException, where: str) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._logged_at.get(dependency)
            if last is not None and now - last < self.window:
                self._suppressed[dependency] = self._suppressed.get(dependency, 0) + 1
                return
            self._logged_at[dependency] = now
            suppressed = self._suppressed.pop(dependency, 0)
        logger.error(
            "%s unavailable (%s: %s) on %s; %d more since the last report",
            dependency,
            exc.__class__.__name__,
            first_line(exc),
            where,
            suppressed,
        )


outage_log = OutageLog(LOG_WINDOW_SECONDS)


def outage_response(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Logs the outage (at most once per window) and answers 503 with Retry-After."""
    dependency = dependency_of(exc)
    outage_log.report(dependency, exc, f"{request.method} {request.path}")
    return problem_from(DependencyUnavailable(dependency))


def install(api: NinjaAPI) -> None:
    for error in OUTAGE_ERRORS:
        api.exception_handler(error)(outage_response)  # as core.problems.install registers its own


class OutageMiddleware:
    """503 for an outage in any Django view outside the API (Ninja's handler covers /api/)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, OUTAGE_ERRORS):
            return None
        return outage_response(request, exc)
