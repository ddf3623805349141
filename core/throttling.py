"""Rate limits, with Ninja's throttling, counted atomically in Django's cache.

Who is counted depends on the endpoint: the client IP (core.clients; an IPv6 client by its
/64, API_THROTTLE_IPV6_PREFIX) for what anyone can call, the target as well for sign-in (a
provider, so that many addresses together cannot make the API hammer it), the session for
authenticated endpoints (many users behind one NAT share an address, not a session). The
counters live in the cache: shared between workers with REDIS_URL.

Ninja keeps one throttle object per endpoint and its own throttles keep each request's
history on it, read and then written back: two threads interleave, and two workers both
read the same old history. Here the object Ninja holds is configuration only; each request
counts through a fresh `_Window`, with the cache's atomic add and incr, in a fixed window
aligned to the clock (so the wait until the next one needs no state either).

A throttle counted per process (`per_process=True`: the session limit, which every
authenticated request passes) makes no network call: each process counts in memory and a
thread adds its counts to the cache's every RECONCILE_INTERVAL, reading back the total of all
processes. A request's count is that total as last read plus this process's counts since:
exact within one process; across N processes a window may admit up to what the other
processes served within one interval beyond the limit (docs/configuration.md). With the cache
down, each process keeps limiting on its own counts.
"""

import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable

from django.http import HttpRequest
from ninja.throttling import BaseThrottle, SimpleRateThrottle
from redis.exceptions import RedisError

from core import outages
from core.cache import default_cache
from core.clients import client_network
from core.conf import core_settings
from core.errors import TooManyFailures
from core.events import AuthEvent, emit

logger = logging.getLogger(__name__)

# How often a process adds its per-process counts to the cache's (and so sees the others').
RECONCILE_INTERVAL = 1.0

# Who a request counts as within a scope; None: this limit does not apply to it.
Identify = Callable[[HttpRequest], str | None]


class _Window:
    """One request's count in the current window of one (scope, identity)."""

    def __init__(self, *, scope: str, ident: str, duration: int, now: float) -> None:
        window = math.floor(now / duration)
        # surrogatepass: a lone surrogate from a JSON body (an address not yet validated) is hashed, not a 500.
        digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        self.key = f"throttle:{scope}:{digest}:{window}"
        self.duration = duration
        self.ends_at = (window + 1) * duration
        # Past the window's end the key is never read again; the cache may drop it.
        self.timeout = duration + 1

    def count(self) -> int:
        return default_cache().get(self.key) or 0

    def hit(self) -> int:
        """Counts this request and returns the count so far, itself included."""
        return window_add(self.key, 1, timeout=self.timeout)


def window_add(key: str, count: int, *, timeout: int) -> int:
    """Adds `count` to a window's counter in the cache; returns its new total."""
    cache = default_cache()
    try:
        return cache.incr(key, count)
    except ValueError:  # the window's first request (or its key was evicted)
        if cache.add(key, count, timeout=timeout):
            return count
        return cache.incr(key, count)  # another request added it in between


class _ProcessCounts:
    """The per-process throttles' counts: this process's since the last reconcile, and the cache's total."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}  # counted here, not yet sent
        self._sending: dict[str, int] = {}  # being added to the cache's
        self._total: dict[str, int] = {}  # the cache's total (every process's), as last read
        self._expiry: dict[str, tuple[int, float]] = {}  # key -> (cache timeout, when its window ends)
        self._thread: threading.Thread | None = None

    def hit(self, window: _Window, *, ends_at: float) -> int:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="throttle-reconcile", daemon=True)
                self._thread.start()
            key = window.key
            self._pending[key] = self._pending.get(key, 0) + 1
            self._expiry[key] = (window.timeout, ends_at)
            return self._total.get(key, 0) + self._sending.get(key, 0) + self._pending[key]

    def peek(self, window: _Window) -> int:
        """The count hit() would add to, without adding."""
        with self._lock:
            key = window.key
            return self._total.get(key, 0) + self._sending.get(key, 0) + self._pending.get(key, 0)

    def _run(self) -> None:
        while True:
            time.sleep(RECONCILE_INTERVAL)
            self.reconcile()

    def reconcile(self) -> None:
        """Adds this process's counts to the cache's and reads back the totals; drops ended windows."""
        with self._lock:
            sending, self._pending, self._sending = self._pending, {}, self._pending
            expiry = dict(self._expiry)
        totals: dict[str, int] = {}
        try:
            for key, count in sending.items():
                totals[key] = window_add(key, count, timeout=expiry[key][0])
        except outages.CACHE_ERRORS as exc:
            # Kept for the next round; meanwhile each process limits on its own counts. Not the
            # outage log: the requests are not affected, and the denylist already reports the cache.
            logger.info("throttle counts not reconciled (%s); each process limits on its own", type(exc).__name__)
        now = time.time()
        with self._lock:
            for key, count in sending.items():
                if key in totals:
                    self._total[key] = totals[key]
                else:
                    self._pending[key] = self._pending.get(key, 0) + count
            self._sending = {}
            for key, (_, ends_at) in expiry.items():
                if ends_at <= now:
                    self._total.pop(key, None)
                    self._pending.pop(key, None)
                    self._expiry.pop(key, None)


_process_counts = _ProcessCounts()


def _new_process_counts() -> None:
    # A forked child has neither the parent's thread nor a usable copy of its lock.
    global _process_counts
    _process_counts = _ProcessCounts()


os.register_at_fork(after_in_child=_new_process_counts)


def _shared_hit(window: _Window, *, counted_by: str) -> int:
    """Counts a request in the cache every process shares; with Redis down, in this process alone.

    A limit is a protection, not a gate: with Redis down, the requests that can still be served are,
    but each process counts them on its own meanwhile, so that an outage does not lift the limit (a
    flood of emails to one address, unlimited guesses). Logged as any cache outage is, once per window
    and process: a line per request would flood the log while it lasts.
    """
    try:
        return window.hit()
    except RedisError as exc:
        outages.outage_log.report("cache", exc, f"{counted_by}, counted by this process alone")
        return _process_counts.hit(window, ends_at=window.ends_at)


class Throttle(SimpleRateThrottle):
    """At most API_THROTTLE_RATES[scope] requests per identity, the rate read at each request.

    Ninja parses a throttle's rate once, when the router is built; this one reads it on
    every request, so that settings overrides apply and an empty rate turns it off.
    """

    scope: str

    def __init__(self, scope: str, identify: Identify, *, per_process: bool = False) -> None:
        self.scope = scope
        self.identify = identify
        self.per_process = per_process

    def _rate(self) -> tuple[int, int] | None:
        rate = core_settings().throttle_rates.get(self.scope)
        if not rate:
            return None
        num_requests, duration = self.parse_rate(rate)
        assert num_requests is not None
        assert duration is not None
        return num_requests, duration

    def allow_request(self, request: HttpRequest) -> bool:
        rate = self._rate()
        if rate is None:  # off: who the client is does not matter
            return True
        ident = self.identify(request)
        if ident is None:
            return True
        num_requests, duration = rate
        now = time.time()
        window = _Window(scope=self.scope, ident=ident, duration=duration, now=now)
        if self.per_process:
            count = _process_counts.hit(window, ends_at=window.ends_at)
        else:
            count = _shared_hit(window, counted_by=f"throttle {self.scope!r}")
        if count == num_requests + 1:  # the first refusal of the window: one event, not a flood
            emit(AuthEvent.THROTTLED, outcome="refused", scope=self.scope)
        return count <= num_requests

    def wait(self) -> float | None:
        """Seconds until the current window ends (Retry-After)."""
        rate = self._rate()
        if rate is None:
            return None
        duration = rate[1]
        return duration - time.time() % duration


class FailureLimit:
    """At most API_THROTTLE_RATES[scope] failures per identity in a window; successes are not counted.

    A Throttle counts every request before the endpoint runs; this counts what the endpoint
    says failed (a wrong password), and refuses once the budget is spent (TooManyFailures, 429).
    Its caller decides who is counted (an address, a device), so that guessing at one account
    need not lock out its owner (accounts.services).
    """

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self._rate = Throttle(scope, lambda request: None)._rate  # the same setting, read the same way

    def _window(self, ident: str) -> tuple[_Window, int] | None:
        rate = self._rate()
        if rate is None:
            return None
        num_failures, duration = rate
        return _Window(scope=self.scope, ident=ident, duration=duration, now=time.time()), num_failures

    def check(self, ident: str) -> None:
        """TooManyFailures if `ident` has no failure left in this window."""
        found = self._window(ident)
        if found is None:
            return
        window, num_failures = found
        try:
            spent = window.count() >= num_failures
        except RedisError as exc:  # as Throttle does: this process's own count meanwhile
            outages.outage_log.report("cache", exc, f"failure limit {self.scope!r}, counted by this process alone")
            spent = _process_counts.peek(window) >= num_failures
        if spent:
            raise TooManyFailures(retry_after=math.ceil(window.duration - time.time() % window.duration))

    def record(self, ident: str) -> None:
        found = self._window(ident)
        if found is None:
            return
        window, num_failures = found
        count = _shared_hit(window, counted_by=f"failure limit {self.scope!r}")
        if count == num_failures:  # the budget is now spent: one event, as Throttle emits
            emit(AuthEvent.THROTTLED, outcome="refused", scope=self.scope)


def _path_parameter(name: str) -> Identify:
    def identify(request: HttpRequest) -> str | None:
        match = request.resolver_match
        return str(match.kwargs[name]) if match and name in match.kwargs else None

    return identify


# Social authorize and callback: per client IP, and per provider across all clients.
sign_in_throttles: list[BaseThrottle] = [
    Throttle("sign_in", client_network),
    Throttle("sign_in_provider", _path_parameter("provider")),
]
# Token refresh and verify, and logout with a refresh token: per client IP.
token_throttle = Throttle("tokens", client_network)
