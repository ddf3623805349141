"""What bounds a sign-in's calls to its provider: one wall-clock deadline, and a bulkhead.

A per-request timeout bounds one socket read, not a request: a provider that sends a byte
every few seconds never trips it, and a callback makes up to four requests (discovery,
token, keys, userinfo). So a callback runs inside `provider_deadline(seconds)`, and every
request made through a session with `DeadlineAdapter` mounted is cut when that deadline
passes: its connect and read timeouts shrink to the time left, and a timer shuts down the
sockets of connections still open at the deadline, which ends a trickling read at once.
The request then fails as a `requests.Timeout`, which the providers map to 504
`provider_timeout`.

The bulkhead bounds how many callbacks each process runs at once (SOCIAL_CALLBACK_CONCURRENCY):
a provider that hangs holds at most that many worker threads until the deadline, and the
excess answers 503 `provider_busy` at once, leaving the other threads to everything else.
It is per process, so a server's bound is that times the number of workers.
"""

import contextlib
import contextvars
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from django.utils.translation import gettext_lazy as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from social.errors import ProviderBusy


class Deadline:
    """A moment after which a callback's outbound requests stop, and the sockets they use."""

    def __init__(self, seconds: float) -> None:
        self.expires_at = time.monotonic() + seconds
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
        if self.expired:
            self._cut()

    def _cut(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("provider_deadline", default=None)


@contextmanager
def provider_deadline(seconds: float) -> Iterator[Deadline]:
    """Every request through a DeadlineAdapter inside this block ends by `seconds` from now."""
    deadline = Deadline(seconds)
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)
        deadline.cancel()


class _TrackedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        deadline = _current.get()
        if deadline is not None and self.sock is not None:
            deadline.track(self.sock)


class _TrackedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        deadline = _current.get()
        if deadline is not None and self.sock is not None:
            deadline.track(self.sock)


class _TrackedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter, bounded by the current `provider_deadline` (unbounded outside one)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _TrackedHTTPConnectionPool,
            "https": _TrackedHTTPSConnectionPool,
        }

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        deadline = _current.get()
        if deadline is None:
            return super().send(request, *args, **kwargs)
        remaining = deadline.remaining()
        if remaining <= 0:
            raise requests.Timeout("The provider deadline passed before this request.", request=request)
        kwargs["timeout"] = _bounded_timeout(kwargs.get("timeout"), remaining)
        try:
            response = super().send(request, *args, **kwargs)
            # The body too is read here, where the deadline can cut it (requests would read it
            # after the adapter returns).
            response.content  # noqa: B018
        except requests.RequestException:
            if deadline.expired:
                raise requests.Timeout("The provider did not answer within the deadline.", request=request) from None
            raise
        if deadline.expired:
            # Cut at the deadline, the answer may look complete and be truncated: never use it.
            raise requests.Timeout("The provider did not answer within the deadline.", request=request)
        return response


def _bounded_timeout(timeout: Any, remaining: float) -> tuple[float, float]:
    if timeout is None:
        return (remaining, remaining)
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return (min(connect or remaining, remaining), min(read or remaining, remaining))


def session_with_deadline(session: requests.Session) -> requests.Session:
    """Mounts the DeadlineAdapter on a session (an Authlib OAuth2Session is one) and returns it."""
    adapter = DeadlineAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class Bulkhead:
    """At most `limit` holders at once in this process; the next one is refused, not queued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0

    @contextmanager
    def slot(self, limit: int) -> Iterator[None]:
        with self._lock:
            if self._holders >= limit:
                raise ProviderBusy(_("Too many sign-ins are waiting on their provider; retry shortly."))
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1


callback_bulkhead = Bulkhead()
