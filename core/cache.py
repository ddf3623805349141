"""The project's cache backends: Django's Redis and local-memory backends, changed where
the request path pays for them.

Redis, one client per connection pool. Django's RedisCacheClient builds a new `redis.Redis`
for every operation. The pool behind it is shared anyway, and building the client costs more
than the round trip to Redis (docs/benchmarks.md), which the session denylist pays on every
authenticated request. `redis.Redis` is thread-safe, so one per pool
is enough.

Redis, `incr` in one round trip instead of Django's two (EXISTS, then INCRBY), and atomic:
between Django's two commands the key could expire, and INCRBY would then create it again
with no expiry. The throttles (core.throttling) count every request with it.

Both, without the memcached key check. Django's only warns about keys memcached would refuse
(over 250 characters, spaces, control characters), walking every character of every key in
Python on every operation: more than a third of the local-memory denylist check
(docs/benchmarks.md). Redis and local memory take any key, and this project runs on nothing
else. Django's cache docs describe this: subclass a backend and override `validate_key`.

Redis through Sentinel: LOCATION `redis+sentinel://[:password@]host1:26379,host2:26379/service/db`
names the Sentinels and the service they watch instead of a server. The connection pool asks
the Sentinels where the primary is for every connection it opens, and drops its idle ones when
the answer changes, so after a failover the next connection (a command's, or the denylist
mirror's subscription, tokens/mirror.py) reaches the new primary. Reads go to the primary too:
a replica may not have the last logout yet. The password is the Redis servers'; the Sentinels
are asked without one. docs/operations.md, "High availability", has the topology.

One backend object per process for what every request does (`default_cache()`: the session
denylist, the throttles). Django's `cache` proxy finds its backend through asgiref's Local on
every call, one object per thread and context for backends that are not thread-safe, and that
lookup costs more than the local-memory read behind it (docs/benchmarks.md). Both backends
here are thread-safe: the local-memory one locks, and redis-py's clients and pools are built
to be shared between threads.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache as DjangoLocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from core.conf import settings_accessor

# INCRBY only if the key exists (Django's incr raises ValueError otherwise), in one command.
_INCREMENT_EXISTING = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('incrby', KEYS[1], ARGV[1]) end"


SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelLocation:
    """Where a `redis+sentinel://` URL says the primary is to be found."""

    sentinels: list[tuple[str, int]]
    service: str
    db: int
    password: str | None


def sentinel_location(url: str) -> SentinelLocation | None:
    """The Sentinels, service, database and password of a `redis+sentinel://` URL; None for any other URL."""
    parsed = urlsplit(url)
    if parsed.scheme != SENTINEL_SCHEME:
        return None
    sentinels = []
    for entry in parsed.netloc.rpartition("@")[2].split(","):
        host, colon, port = entry.rpartition(":")
        sentinels.append((host, int(port)) if colon else (entry, SENTINEL_PORT))
    path = [part for part in parsed.path.split("/") if part]
    if not sentinels[0][0] or not path or len(path) > 2:
        raise ValueError(f"a Sentinel URL is {SENTINEL_SCHEME}://host:port[,host:port...]/service[/db], got {url!r}")
    password = unquote(parsed.password) if parsed.password else None
    return SentinelLocation(sentinels, path[0], int(path[1]) if len(path) == 2 else 0, password)


class ReusingRedisCacheClient(RedisCacheClient):
    # Django's own members that this builds on; django-stubs leaves private names out.
    _client: type[Redis]
    _servers: list[str]
    _pool_options: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[ConnectionPool, Redis] = {}
        self._sentinel = sentinel_location(self._servers[0])
        self._sentinel_pool: SentinelConnectionPool | None = None

    def _get_connection_pool(self, write: bool) -> ConnectionPool:
        if self._sentinel is None:
            return super()._get_connection_pool(write)  # type: ignore[misc]
        if self._sentinel_pool is None:
            # The Sentinels answer within the same bounds as the servers (settings.py's socket timeouts), each
            # asked once: a Sentinel client of redis-py's own retries 10 times with a backoff, so hung
            # Sentinels held a request 27 s per Sentinel instead of failing it over to the next one.
            sentinel_options = {name: value for name, value in self._pool_options.items() if name.startswith("socket_")}
            sentinel_options["retry"] = Retry(NoBackoff(), 0)
            manager = Sentinel(self._sentinel.sentinels, sentinel_kwargs=sentinel_options)  # type: ignore[no-untyped-call]
            self._sentinel_pool = SentinelConnectionPool(  # type: ignore[no-untyped-call]
                self._sentinel.service,
                manager,
                db=self._sentinel.db,
                password=self._sentinel.password,
                **self._pool_options,
            )
        return self._sentinel_pool

    def get_client(self, key: Any = None, *, write: bool = False) -> Redis:
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client

    def incr(self, key: Any, delta: int) -> int:
        count = self.get_client(key, write=True).eval(_INCREMENT_EXISTING, 1, key, delta)
        if count is None:
            raise ValueError(f"Key '{key}' not found.")
        return count


class AnyKeyMixin:
    def validate_key(self, key: str) -> None:
        pass  # any key: see the module docstring


class RedisCache(AnyKeyMixin, DjangoRedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        if isinstance(server, str) and sentinel_location(server) is not None:
            server = [server]  # one location: Django would split its list of Sentinels at the commas
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    @property
    def through_sentinel(self) -> bool:
        """Whether the primary is found through Sentinel, and so has replicas a failover may promote."""
        return sentinel_location(self._servers[0]) is not None  # type: ignore[attr-defined]


class LocMemCache(AnyKeyMixin, DjangoLocMemCache):
    """The embedded default (one process's memory), which drops only what it can afford to.

    Django's, full (MAX_ENTRIES), drops the least recently used third of its entries, live
    or expired. That opens a hole in the session denylist: an ended session nobody has
    presented lately loses its entry, while the denylist's marker, read on every check,
    stays, so the session's access tokens work again. Full, this drops the expired entries,
    and if that frees less than a third, everything: without the marker, the next check
    rebuilds the denylist from the database (tokens.denylist); pending sign-ins start over and
    throttle windows restart.
    """

    # Django's own members that this builds on; django-stubs leaves private names out.
    _cache: dict[str, Any]
    _expire_info: dict[str, float | None]
    _max_entries: int
    _delete: Callable[[str], bool]
    _has_expired: Callable[[str], bool]

    def _cull(self) -> None:  # called with the lock held, before a write to a full cache
        for key in [key for key in self._cache if self._has_expired(key)]:
            self._delete(key)
        # A third free afterwards, as Django's cull leaves: the scan above then runs at most
        # once per third of MAX_ENTRIES writes, not on every write to a cache kept nearly full.
        if len(self._cache) > self._max_entries * 2 // 3:
            self._cache.clear()
            self._expire_info.clear()


@settings_accessor
def default_cache() -> BaseCache:
    """The backend CACHES["default"] configures, shared by the process's threads (see the module docstring)."""
    return caches.create_connection("default")
