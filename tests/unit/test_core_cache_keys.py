"""The project's caches take any key without Django's memcached key check (core.cache)."""

import warnings

import pytest
from django.core.cache import CacheKeyWarning, caches
from django.core.cache.backends.locmem import LocMemCache as DjangoLocMemCache

from core.cache import LocMemCache, RedisCache

# Over memcached's 250 characters, with a space: Django warns about it on every operation.
MEMCACHED_WOULD_REFUSE = "a key " + "x" * 250


def test_djangos_backend_checks_every_key_for_memcached():
    with pytest.warns(CacheKeyWarning):
        DjangoLocMemCache("django", {}).set(MEMCACHED_WOULD_REFUSE, 1)


def test_the_projects_backend_stores_any_key_without_the_check():
    cache = LocMemCache("project", {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache.set(MEMCACHED_WOULD_REFUSE, 1)
        assert cache.get(MEMCACHED_WOULD_REFUSE) == 1
        assert cache.get("a key " + "x" * 249) is None


def test_the_configured_cache_is_one_of_the_projects_backends():
    # Local memory by default, Redis with REDIS_URL (CI's second run): both without the check.
    assert isinstance(caches["default"], LocMemCache | RedisCache)
