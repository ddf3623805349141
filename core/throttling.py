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
"""

import hashlib
import math
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

# Who a request counts as within a scope; None: this limit does not apply to it.
Identify = Callable[[HttpRequest], str | None]


class _Window:
    """One request's count in the current window of one (scope, identity)."""

    def __init__(self, *, scope: str, ident: str, duration: int, now: float) -> None:
        window = math.floor(now / duration)
        digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
        self.key = f"throttle:{scope}:{digest}:{window}"
        self.duration = duration
        # Past the window's end the key is never read again; the cache may drop it.
        self.timeout = duration + 1

    def count(self) -> int:
        return default_cache().get(self.key) or 0

    def hit(self) -> int:
        """Counts this request and returns the count so far, itself included."""
        cache = default_cache()
        try:
            return cache.incr(self.key)
        except ValueError:  # the window's first request (or its key was evicted)
            if cache.add(self.key, 1, timeout=self.timeout):
                return 1
            return cache.incr(self.key)  # another request added it in between


class Throttle(SimpleRateThrottle):
    """At most API_THROTTLE_RATES[scope] requests per identity, the rate read at each request.

    Ninja parses a throttle's rate once, when the router is built; this one reads it on
    every request, so that settings overrides apply and an empty rate turns it off.
    """

    scope: str

    def __init__(self, scope: str, identify: Identify) -> None:
        self.scope = scope
        self.identify = identify

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
        window = _Window(scope=self.scope, ident=ident, duration=duration, now=time.time())
        try:
            count = window.hit()
        except RedisError as exc:
            # A limit is a protection, not a gate: with Redis down, the requests that can
            # still be served are (fail open). Logged as any cache outage is, once per window
            # and process: a line per request would flood the log for as long as it lasts.
            outages.outage_log.report("cache", exc, f"throttle {self.scope!r}, not counted")
            return True
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
        except RedisError as exc:  # fail open, as Throttle does
            outages.outage_log.report("cache", exc, f"failure limit {self.scope!r}, not read")
            return
        if spent:
            raise TooManyFailures(retry_after=math.ceil(window.duration - time.time() % window.duration))

    def record(self, ident: str) -> None:
        found = self._window(ident)
        if found is None:
            return
        window, num_failures = found
        try:
            if window.hit() == num_failures:  # the budget is now spent: one event, as Throttle emits
                emit(AuthEvent.THROTTLED, outcome="refused", scope=self.scope)
        except RedisError as exc:
            outages.outage_log.report("cache", exc, f"failure limit {self.scope!r}, not counted")


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
