"""REDIS_URL through Sentinel (core.cache): the URL's parts, and the pool that asks the Sentinels where the primary is.

No Sentinel needed: building the pool asks nothing, and a hung Sentinel is a socket that never answers
(tests/faults/test_failover_redis.py runs a real failover).
"""

import contextlib
import socket
import threading

import pytest
from redis.sentinel import MasterNotFoundError, SentinelConnectionPool

from core.cache import RedisCache, SentinelLocation, sentinel_location


def test_a_sentinel_url_names_the_sentinels_the_service_the_database_and_the_password():
    assert sentinel_location("redis+sentinel://:s%40cret@10.0.0.1:26380,sentinel-b/mymaster/2") == SentinelLocation(
        sentinels=[("10.0.0.1", 26380), ("sentinel-b", 26379)], service="mymaster", db=2, password="s@cret"
    )
    assert sentinel_location("redis+sentinel://10.0.0.1:26379/mymaster") == SentinelLocation(
        sentinels=[("10.0.0.1", 26379)], service="mymaster", db=0, password=None
    )


def test_any_other_url_is_not_a_sentinel_one():
    assert sentinel_location("redis://127.0.0.1:6379/0") is None


@pytest.mark.parametrize("url", ["redis+sentinel://10.0.0.1:26379", "redis+sentinel://h:26379/mymaster/0/extra"])
def test_a_sentinel_url_without_a_service_is_refused_with_its_form(url):
    with pytest.raises(ValueError, match="service"):
        sentinel_location(url)


def test_the_cache_keeps_the_sentinel_list_whole_and_reads_and_writes_the_primary():
    url = "redis+sentinel://:pw@127.0.0.1:26379,127.0.0.1:26380/mymaster/3"
    backend = RedisCache(url, {"OPTIONS": {"socket_timeout": 2}})
    assert backend.through_sentinel
    client = backend._cache
    pool = client._get_connection_pool(True)
    assert isinstance(pool, SentinelConnectionPool)
    assert client._get_connection_pool(False) is pool  # reads too: a replica may lack the last logout
    kwargs = pool.connection_kwargs
    assert (pool.service_name, kwargs["db"], kwargs["password"], kwargs["socket_timeout"]) == ("mymaster", 3, "pw", 2)
    sentinels = pool.sentinel_manager.sentinels
    assert [sentinel.connection_pool.connection_kwargs["port"] for sentinel in sentinels] == [26379, 26380]


def test_a_plain_redis_url_is_unchanged():
    backend = RedisCache("redis://127.0.0.1:6379/0", {})
    assert not backend.through_sentinel
    assert not isinstance(backend._cache._get_connection_pool(True), SentinelConnectionPool)


class HungSentinel:
    """A loopback server that accepts connections and never answers, as a paused Sentinel's kernel does."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.accepted.append(self.listener.accept()[0])

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


def test_hung_sentinels_are_each_asked_once_then_the_command_fails():
    """redis-py's Sentinel clients retry 10 times with a backoff by default: 27 s per hung Sentinel (found by the
    outside operator: a new worker's whoami waited 31.6 s for paused Sentinels). Each is asked once instead."""
    hung = [HungSentinel(), HungSentinel()]
    try:
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in hung)
        backend = RedisCache(
            f"redis+sentinel://{hosts}/mymaster/0", {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 0.2}}
        )
        with pytest.raises(MasterNotFoundError):
            backend.get("any key")
        assert [len(sentinel.accepted) for sentinel in hung] == [1, 1]
    finally:
        for sentinel in hung:
            sentinel.close()
