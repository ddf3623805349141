"""core.cache.RedisCache against a real Redis (CI's second run sets REDIS_URL).

What the project relies on from its cache, checked on the backend production runs: one client
per pool, a delete that reports whether it removed the key (a pending login is used once),
expiry set by Redis itself (denylist entries), and another worker's view of the same keys.
"""

import os
import uuid
import warnings
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings

from core.cache import RedisCache
from tests.unit.test_core_cache_keys import MEMCACHED_WOULD_REFUSE
from tokens import denylist
from tokens.conf import token_settings

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0 (CI does)"
)

KEY_PREFIX = "cache-test"


@pytest.fixture
def redis_cache():
    backend = {"BACKEND": "core.cache.RedisCache", "LOCATION": os.environ["REDIS_URL"], "KEY_PREFIX": KEY_PREFIX}
    with override_settings(CACHES={"default": backend}):
        yield cache


def another_worker() -> RedisCache:
    """A second, independent backend on the same Redis, as another gunicorn worker has."""
    return RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": KEY_PREFIX})


def test_redis_cache_reuses_one_client_and_still_works(redis_cache):
    assert redis_cache._cache.get_client(write=False) is redis_cache._cache.get_client(write=True)
    redis_cache.set("answer", {"value": 42}, timeout=5)
    assert redis_cache.get("answer") == {"value": 42}
    assert redis_cache.delete("answer") is True
    assert redis_cache.get("answer") is None


def test_redis_cache_takes_any_key_without_the_memcached_check(redis_cache):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        redis_cache.set(MEMCACHED_WOULD_REFUSE, 1, timeout=5)
        assert redis_cache.get(MEMCACHED_WOULD_REFUSE) == 1


def test_only_the_first_delete_of_a_key_reports_removing_it(redis_cache):
    # social._pending_login_consume relies on this: only the caller whose delete removed
    # the pending login may use it.
    redis_cache.set("pending", {"state": "s"}, timeout=60)
    assert another_worker().delete("pending") is True
    assert redis_cache.delete("pending") is False


def test_a_denied_session_is_seen_by_another_worker_and_expires_with_its_access_tokens(redis_cache):
    session_id = uuid.uuid4()
    denylist.deny_sessions([session_id])

    worker = another_worker()
    key = worker.make_and_validate_key(denylist._key(session_id))
    assert worker.get(denylist._key(session_id)) is not None
    conf = token_settings()
    ttl = worker._cache.get_client(key).ttl(key)
    assert timedelta(0) < timedelta(seconds=ttl) <= conf.access_ttl + conf.leeway


def test_incr_counts_an_existing_key_in_one_command_and_keeps_its_expiry(redis_cache, monkeypatch):
    client = redis_cache._cache.get_client(write=True)
    assert redis_cache.add("counter", 1, timeout=30)
    sent = []
    execute = client.execute_command

    def counting(*args, **options):
        sent.append(args[0])
        return execute(*args, **options)

    monkeypatch.setattr(client, "execute_command", counting)

    assert redis_cache.incr("counter") == 2
    assert redis_cache.incr("counter", 5) == 7

    assert sent == ["EVAL", "EVAL"]  # Django's incr sends EXISTS, then INCRBY
    monkeypatch.undo()
    assert 0 < client.ttl(redis_cache.make_and_validate_key("counter")) <= 30


def test_incr_of_a_missing_key_raises_like_django_and_creates_nothing(redis_cache):
    with pytest.raises(ValueError, match="not found"):
        redis_cache.incr("no-such-counter")
    assert redis_cache.get("no-such-counter") is None
