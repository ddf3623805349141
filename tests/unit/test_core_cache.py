import os

import pytest
from django.core.cache import caches
from django.test import override_settings

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0 (CI does)"
)


def test_redis_cache_reuses_one_client_and_still_works():
    with override_settings(
        CACHES={
            "default": {
                "BACKEND": "core.cache.RedisCache",
                "LOCATION": os.environ["REDIS_URL"],
                "KEY_PREFIX": "cache-test",
            }
        }
    ):
        cache = caches["default"]
        assert cache._cache.get_client(write=False) is cache._cache.get_client(write=True)
        cache.set("answer", {"value": 42}, timeout=5)
        assert cache.get("answer") == {"value": 42}
        assert cache.delete("answer") is True
        assert cache.get("answer") is None
