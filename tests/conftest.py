import math
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.utils import translation
from ninja.testing import TestClient
from ninja.testing.client import NinjaResponse

from config.api import api
from core import throttling
from core.models import User
from tokens import denylist
from tokens.keys import key_set_forget
from tokens.services import session_start

# The tiers that start processes of their own, by folder (other such tests are marked `slow` where they
# are): `-m "not slow"` is the quick loop while working; `make test` runs every tier.
_TIER_MARKERS = {"e2e": ("e2e", "slow"), "faults": ("faults", "slow")}
# The fixture of the servers that the fault tests share for a whole session (tests/faults/conftest.py:
# their own PostgreSQL, Redis and gunicorn), which each pytest-xdist worker that needs them starts.
SHARED_STACK_FIXTURE = "stack_env"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests marked `concurrent_db` race real writers; SQLite lets only one write at a time.
    skip_concurrent = connection.vendor == "sqlite" and pytest.mark.skip(
        reason="needs concurrent writers: set DATABASE_URL to PostgreSQL, MySQL or MariaDB (CI runs both)"
    )
    for item in items:
        tier = item.path.relative_to(config.rootpath / "tests").parts[0]
        for marker in _TIER_MARKERS.get(tier, ()):
            item.add_marker(marker)
        if skip_concurrent and "concurrent_db" in item.keywords:
            item.add_marker(skip_concurrent)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # `make test` runs `--dist worksteal`: each worker starts with a contiguous share of this order
        # and an idle one takes tests from the end of another's. So the tests on the shared servers
        # come first, together, and usually all run in the first worker, which alone starts them; then
        # the other slow ones, so that no long test is left for last while a worker idles. Every
        # worker sorts the same way, as pytest-xdist requires.
        items.sort(
            key=lambda item: (
                SHARED_STACK_FIXTURE not in getattr(item, "fixturenames", ()),
                item.get_closest_marker("slow") is None,
            )
        )


def _worker_redis_url() -> str | None:
    """Under pytest-xdist, REDIS_URL with a Redis database of this worker's own (gw0: REDIS_URL's, gw1: the next).

    Every test empties the cache (FLUSHDB) before and after it, which must not empty what a test of
    another worker is in the middle of. Redis has 16 databases unless configured otherwise.
    """
    url, worker = os.environ.get("REDIS_URL"), os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker.startswith("gw"):
        return None
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    return parts._replace(path=f"/{database}").geturl()


# Before any test module reads it (tests/unit/test_core_cache.py, tests/e2e/test_load.py); the
# settings, read before this file, follow in _worker_cache below.
if (_WORKER_REDIS_URL := _worker_redis_url()) is not None:
    os.environ["REDIS_URL"] = _WORKER_REDIS_URL


@pytest.fixture(autouse=True, scope="session")
def _worker_cache() -> Iterator[None]:
    """The cache on this worker's own Redis database (_worker_redis_url)."""
    if _WORKER_REDIS_URL is None:
        yield
        return
    default = {**django_settings.CACHES["default"], "LOCATION": _WORKER_REDIS_URL}
    with override_settings(CACHES={**django_settings.CACHES, "default": default}, REDIS_URL=_WORKER_REDIS_URL):
        yield


@pytest.fixture(autouse=True, scope="session")
def _plain_http():
    """The test clients and the live server speak plain HTTP, which production redirects to
    HTTPS; tests/api/test_deploy.py checks the production defaults themselves."""
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture(autouse=True)
def _empty_cache(monkeypatch):
    # The denylist and pending logins live in the cache; with REDIS_URL it outlives a test.
    cache.clear()
    # Counts a process keeps on its own (the session limit; any limit while Redis is down): none yet.
    counts = throttling._process_counts
    with counts._lock:
        for table in (counts._pending, counts._sending, counts._total, counts._expiry):
            table.clear()
    # Rebuilds are coalesced per process over an interval: a test's starts with none made.
    monkeypatch.setattr(denylist._Rebuilds, "began_at", -math.inf)
    monkeypatch.setattr(denylist._Rebuilds, "completed_began_at", -math.inf)
    monkeypatch.setattr(denylist._Rebuilds, "count", 0)
    # Each test starts with no ended session, so an empty denylist is complete: say so, and
    # bearer checks need no rebuild (tests of the rebuild clear the marker themselves).
    denylist.denylist_mark_complete()
    yield
    cache.clear()


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable_caches() -> dict:
    """CACHES in which the cache is a Redis at a port where nothing listens: every call is refused."""
    return {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


def cache_unreachable():
    return override_settings(CACHES=unreachable_caches())


@pytest.fixture
def cache_down(settings):
    # Through pytest-django's `settings`, so that a test's other overrides unwind in order.
    settings.CACHES = unreachable_caches()


class BrowserTestClient(TestClient):
    """Ninja's TestClient with a browser's cookie jar: what a response sets goes with the next requests.

    Requests name the host `testserver` (as Django's test client does), which is not
    loopback: cookies get their https names (`__Host-...`). Bodies are declared JSON, as fetch() does.
    """

    def __init__(self, router_or_app) -> None:
        # Upper case: the TestClient copies header names into META as given, and get_host() reads HTTP_HOST.
        # X-Requested-With, as the reference client (web/static/web/client.js) sends on every call:
        # in cookie mode, what sets or reads the refresh cookie requires it (tokens.transport).
        super().__init__(router_or_app, headers={"HOST": "testserver", "X-Requested-With": "fetch"})

    def _build_request(self, method, path, data, request_params):
        # A browser's fetch() declares its JSON body; Ninja's TestClient sends it with no type.
        request = super()._build_request(method, path, data, request_params)
        if request.body and "CONTENT_TYPE" not in request.META:
            request.META["CONTENT_TYPE"] = "application/json"
        return request

    def _call(self, func, request, kwargs) -> NinjaResponse:
        response = func(request, **kwargs)
        for name, morsel in response.cookies.items():
            if morsel["max-age"] == 0:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value
        return NinjaResponse(response)


@pytest.fixture(autouse=True)
def _default_language():
    # LocaleMiddleware activates a request's language for the thread and nothing deactivates it: a Korean
    # request through Django's client would leave the next test's Ninja TestClient (no middleware) in Korean.
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_key_set():
    # Each process keeps the signing key set in memory; a test's keys (rows rolled back
    # after it) must not outlive it.
    key_set_forget()
    yield
    key_set_forget()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """A fast hasher that counts its work (tests/hashers.py); Argon2 stays the setting's first."""
    from tests.hashers import CountingHasher

    settings.PASSWORD_HASHERS = ["tests.hashers.CountingHasher"]
    CountingHasher.calls.clear()


@pytest.fixture
def client() -> TestClient:
    """Ninja's TestClient on the real `api`, so the problem handlers are in the loop."""
    return BrowserTestClient(api)


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user(email="ada@example.com", display_name="Ada")


@pytest.fixture
def pair(user):
    return session_start(user=user, user_agent="pytest", ip="127.0.0.1")


def bearer(access: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}"}


@pytest.fixture
def django_client() -> Client:
    """Django's own test client: the whole stack, middleware and URL resolver included."""
    return Client()


# --- social login: providers mocked with `responses` (bodies from tests/social_mocks.py) ---


@pytest.fixture
def social(settings):
    """Kakao, Google and a generic OpenID Connect provider ("acme") configured, with their real URLs."""
    from tests import social_mocks as mocks

    settings.SOCIAL_REDIRECT_URIS = [mocks.REDIRECT_URI]
    settings.SOCIAL_HTTP_CONNECT_TIMEOUT = 3
    settings.SOCIAL_HTTP_READ_TIMEOUT = 10
    settings.SOCIAL_PENDING_LOGIN_TTL = 600
    settings.SOCIAL_LINK_BY_VERIFIED_EMAIL = True
    settings.SOCIAL_REQUIRE_EMAIL = False
    for name, value in {**mocks.KAKAO_SETTINGS, **mocks.GOOGLE_SETTINGS, **mocks.ACME_CONTRACT.settings}.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def rsps():
    """Every outgoing request must match a mocked one; nothing reaches the network."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
