"""The database bulkhead's limit: the setting, else the server's threads minus two, else none."""

import pytest

from core.bulkhead import Bulkhead


@pytest.fixture
def bulkhead() -> Bulkhead:
    return Bulkhead()


@pytest.mark.parametrize(("threads", "limit"), [(8, 6), (4, 2), (3, 1), (2, 1), (1, 1)])
def test_by_default_it_leaves_two_threads_free_and_admits_at_least_one(bulkhead, settings, threads, limit):
    settings.DATABASE_REQUEST_CONCURRENCY = 0
    bulkhead.serve_threads(threads)
    assert bulkhead.limit() == limit
    assert [bulkhead.try_acquire() for _ in range(limit + 1)] == [True] * limit + [False]


def test_the_setting_overrides_the_default(bulkhead, settings):
    bulkhead.serve_threads(8)
    settings.DATABASE_REQUEST_CONCURRENCY = 3
    assert bulkhead.limit() == 3


def test_without_a_server_thread_count_there_is_no_bound(bulkhead, settings):
    settings.DATABASE_REQUEST_CONCURRENCY = 0
    assert bulkhead.limit() is None
    assert all(bulkhead.try_acquire() for _ in range(100))


def test_a_negative_setting_stops_the_start(settings):
    from core.checks import database_request_concurrency_check

    settings.DATABASE_REQUEST_CONCURRENCY = -1
    assert [error.id for error in database_request_concurrency_check(None)] == ["core.E008"]


def test_a_burst_waits_briefly_for_a_permit_given_back_instead_of_being_refused(bulkhead, settings):
    # A healthy database gives permits back within milliseconds: the request beyond the limit gets one.
    import threading

    settings.DATABASE_REQUEST_CONCURRENCY = 1
    assert bulkhead.try_acquire()
    given_back = threading.Timer(0.01, bulkhead.release)
    given_back.start()
    try:
        assert bulkhead.try_acquire(timeout=30)
    finally:
        given_back.join()
    # A permit never given back (a hung database): refused once the wait is over.
    assert not bulkhead.try_acquire(timeout=0.01)
