import math
import socket

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from ninja.testing import TestClient
from ninja.testing.client import NinjaResponse

from config.api import api
from core.models import User
from tokens import denylist
from tokens.keys import key_set_forget
from tokens.services import session_start


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
    # Rebuilds are coalesced per process over an interval: a test's starts with none made.
    monkeypatch.setattr(denylist._Rebuilds, "began_at", -math.inf)
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
    loopback: cookies get their https names (`__Host-...`).
    """

    def __init__(self, router_or_app) -> None:
        # Upper case: the TestClient copies header names into META as given, and get_host() reads HTTP_HOST.
        super().__init__(router_or_app, headers={"HOST": "testserver"})

    def _call(self, func, request, kwargs) -> NinjaResponse:
        response = func(request, **kwargs)
        for name, morsel in response.cookies.items():
            if morsel["max-age"] == 0:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value
        return NinjaResponse(response)


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
    settings.SOCIAL_KAKAO_CLIENT_ID = mocks.KAKAO_CLIENT_ID
    settings.SOCIAL_KAKAO_CLIENT_SECRET = mocks.KAKAO_CLIENT_SECRET
    settings.SOCIAL_KAKAO_AUTHORIZE_URL = mocks.KAKAO_AUTHORIZE_URL
    settings.SOCIAL_KAKAO_TOKEN_URL = mocks.KAKAO_TOKEN_URL
    settings.SOCIAL_KAKAO_USERINFO_URL = mocks.KAKAO_USERINFO_URL
    settings.SOCIAL_KAKAO_SCOPES = ["profile_nickname", "profile_image", "account_email"]
    settings.SOCIAL_KAKAO_APP_ID = mocks.KAKAO_APP_ID
    settings.SOCIAL_KAKAO_TOKEN_INFO_URL = mocks.KAKAO_TOKEN_INFO_URL
    settings.SOCIAL_KAKAO_CLIENT_IDS = [mocks.KAKAO_NATIVE_APP_KEY]
    settings.SOCIAL_KAKAO_DISCOVERY_URL = mocks.KAKAO_DISCOVERY_URL
    settings.SOCIAL_GOOGLE_CLIENT_ID = mocks.GOOGLE_CLIENT_ID
    settings.SOCIAL_GOOGLE_CLIENT_SECRET = mocks.GOOGLE_CLIENT_SECRET
    settings.SOCIAL_GOOGLE_DISCOVERY_URL = mocks.GOOGLE_DISCOVERY_URL
    settings.SOCIAL_GOOGLE_SCOPES = ["openid", "email", "profile"]
    settings.SOCIAL_GOOGLE_CLIENT_IDS = [mocks.GOOGLE_IOS_CLIENT_ID, mocks.GOOGLE_ANDROID_CLIENT_ID]
    settings.SOCIAL_OIDC_PROVIDERS = {
        "acme": {
            "display_name": "Acme ID",
            "client_id": mocks.ACME_CLIENT_ID,
            "client_secret": mocks.ACME_CLIENT_SECRET,
            "discovery_url": mocks.ACME_DISCOVERY_URL,
            "scopes": ["openid", "email"],
            "client_ids": [mocks.ACME_NATIVE_CLIENT_ID],
        }
    }
    return settings


@pytest.fixture
def rsps():
    """Every outgoing request must match a mocked one; nothing reaches the network."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
