"""core.cache.default_cache: one backend for the whole process, the one CACHES configures now."""

import threading

from django.core.cache import cache, caches
from django.test import override_settings

from core.cache import LocMemCache, default_cache


def in_another_thread(call):
    found = []
    thread = threading.Thread(target=lambda: found.append(call()))
    thread.start()
    thread.join()
    return found[0]


def test_every_thread_gets_the_same_backend():
    assert in_another_thread(default_cache) is default_cache()
    # The control: Django's handler gives each thread its own.
    assert in_another_thread(lambda: caches["default"]) is not caches["default"]


def test_it_reads_what_djangos_cache_wrote():
    cache.set("default-cache-test", "written through django.core.cache")
    assert default_cache().get("default-cache-test") == "written through django.core.cache"


def test_a_settings_change_gives_the_backend_the_new_settings_configure():
    before = default_cache()
    other = {"default": {"BACKEND": "core.cache.LocMemCache", "LOCATION": "default-cache-test"}}
    with override_settings(CACHES=other):
        during = default_cache()
        assert isinstance(during, LocMemCache)
        during.set("only-here", 1)
        assert cache.get("only-here") == 1
    assert default_cache() is not during
    assert default_cache().get("only-here") is None
    assert before.get("only-here") is None
