import pytest
from django.core.cache import cache
from django.test import Client
from ninja.testing import TestClient

from core.api import api
from core.models import User
from tokens.services import session_start


@pytest.fixture(autouse=True)
def _empty_cache():
    # The denylist and pending logins live in the cache; with REDIS_URL it outlives a test.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client() -> TestClient:
    """Ninja's TestClient on the real `api`, so the problem handlers are in the loop."""
    return TestClient(api)


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
