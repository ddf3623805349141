"""The database bulkhead: requests that use the database hold at most a bounded share of a process's threads.

A hung PostgreSQL (paused, or a network that drops packets) cannot enforce its own
statement timeout, so every request that reaches it waits until it resumes. Under steady
refresh traffic those requests took every worker thread, and whoami and liveness, which
never touch the database, queued behind them (issue 26). The bulkhead gives database work
at most `limit` threads per process; a request that would be one more waits a moment
(PERMIT_WAIT_SECONDS) for a permit, then answers 503 `service_unavailable` (with
Retry-After), and the threads left over serve everything else.

How a request is classified: by what it does, not by a list of endpoints. The permit is
taken lazily, the first time a request asks its connection for a cursor or a connection
(`BulkheadDatabaseWrapper`, the database backend every engine of this project uses), before
anything can wait on the server: the health check, the connect, the first statement. A
request that never touches the database (whoami with the denylist mirror current, token
verify of an access token, liveness) never takes a permit, so it never waits for one and
is never refused by one. `BulkheadMiddleware` marks where a request begins and ends, and
gives the permit back at its end; database work outside a request (management commands,
the denylist mirror's thread, start-up) is never bounded.

The limit: DATABASE_REQUEST_CONCURRENCY when set; otherwise the server's threads per
process minus two (gunicorn.conf.py tells it the count), at least one; with no thread count
(runserver, the tests' clients) no bound.
"""

import threading

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from core.conf import core_settings
from core.http import GetResponse
from core.outages import DatabaseBusy, outage_log
from core.problems import problem_from

# Threads a default limit leaves to requests that need no database.
THREADS_KEPT_FREE = 2
# How long a request waits for a permit before its 503. A healthy database gives permits back within
# milliseconds, so a burst of more requests than permits queues this briefly instead of being refused
# (refusing at once answered 12 of 24 simultaneous refreshes, and readiness, 503 on a healthy server);
# a hung one holds them, and the request is refused after this short wait.
PERMIT_WAIT_SECONDS = 0.25


class Bulkhead:
    """A count of permits, bounded by a limit read at each acquire (so a settings change applies at once)."""

    def __init__(self) -> None:
        self._released = threading.Condition()
        self._in_use = 0
        self._server_threads: int | None = None
        self._requests = threading.local()

    def serve_threads(self, threads: int) -> None:
        """Called by the server at start-up with its threads per process: the default limit follows them."""
        self._server_threads = threads

    def limit(self) -> int | None:
        configured = core_settings().database_request_concurrency
        if configured is not None:
            return configured
        if self._server_threads is None:
            return None
        return max(1, self._server_threads - THREADS_KEPT_FREE)

    @property
    def in_use(self) -> int:
        return self._in_use

    def try_acquire(self, timeout: float = 0) -> bool:
        """A permit, waiting up to `timeout` seconds for one to be given back; False if none came."""
        limit = self.limit()
        with self._released:
            if limit is not None and not self._released.wait_for(lambda: self._in_use < limit, timeout):
                return False
            self._in_use += 1
            return True

    def release(self) -> None:
        with self._released:
            self._in_use -= 1
            self._released.notify()

    # --- the permit of the request this thread serves ---------------------------------

    def request_begins(self) -> None:
        self._requests.needs_permit = True
        self._requests.holds_permit = False

    def request_ends(self) -> None:
        self._requests.needs_permit = False
        if getattr(self._requests, "holds_permit", False):
            self._requests.holds_permit = False
            self.release()

    def enter(self) -> None:
        """Takes this thread's request a permit before its first database work; DatabaseBusy when none is left."""
        if not getattr(self._requests, "needs_permit", False):
            return  # outside a request, or it holds its permit already
        if not self.try_acquire(PERMIT_WAIT_SECONDS):
            error = DatabaseBusy()
            # A full bulkhead means a database that stopped answering (or traffic beyond it): logged as its outages are.
            outage_log.report("database", error, "the database bulkhead")
            raise error
        self._requests.needs_permit = False
        self._requests.holds_permit = True


database_bulkhead = Bulkhead()


class BulkheadDatabaseWrapper(BaseDatabaseWrapper):
    """The backend half: every way a request reaches the server passes one of these first.

    A cursor (plain, or the server-side one `.iterator()` uses) runs the health check, which
    may ask the server, and connects; `ensure_connection` is how transactions and everything
    else that needs no cursor connect. A mixin: each engine of this project puts it before
    Django's own DatabaseWrapper (core.postgresql, core.sqlite3).
    """

    def ensure_connection(self) -> None:
        database_bulkhead.enter()
        super().ensure_connection()

    def cursor(self) -> CursorWrapper:
        database_bulkhead.enter()
        return super().cursor()

    def chunked_cursor(self) -> CursorWrapper:
        database_bulkhead.enter()
        return super().chunked_cursor()


class BulkheadMiddleware:
    """The request half: where a request begins and ends, and the 503 for views outside the API.

    The API's views raise DatabaseBusy like any Problem, rendered by Ninja's handler; this renders
    it for the rest (the admin, the sign-in page). Outside the API's own handlers, so that the
    permit is given back only once the response is complete.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        database_bulkhead.request_begins()
        try:
            return self.get_response(request)
        finally:
            database_bulkhead.request_ends()

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        return problem_from(exc) if isinstance(exc, DatabaseBusy) else None
