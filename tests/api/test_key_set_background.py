"""A serving process's key set, kept current by a thread of its own (tokens.keys._KeyStore).

transactional_db: the thread reads the database on its own connection, which sees only
committed rows.
"""

import time
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from core.models import User
from tests.conftest import bearer
from tokens import keys
from tokens.models import SigningKey
from tokens.services import session_start


@pytest.fixture
def serving(settings, transactional_db):
    settings.JWT_SIGNING_KEY = ""
    settings.JWT_VERIFYING_KEY = ""
    settings.JWT_ALGORITHM = "ES256"
    call_command("rotate_signing_key", stdout=None)
    keys.key_set_refresh_in_background()  # as gunicorn's post_worker_init does
    yield
    keys.key_set_refresh_in_background(enabled=False)


def wait_for_a_reread(store, generation: int) -> None:
    deadline = time.monotonic() + 30
    while store._generation == generation:
        assert time.monotonic() < deadline, "the background thread never re-read the key set"
        time.sleep(0.01)


def test_a_stale_copy_is_reread_by_the_thread_while_requests_make_no_query(client, serving, django_assert_num_queries):
    user = User.objects.create_user(email="ada@example.com")
    pair = session_start(user=user)
    store = keys._key_store()
    assert store._background is not None
    assert store._background.is_alive()
    generation = store._generation
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        # Past JWT_KEY_SET_MAX_AGE: the request wakes the thread and goes on with its copy.
        with django_assert_num_queries(0):
            assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
        wait_for_a_reread(store, generation)


def test_a_key_deleted_in_the_database_stops_verifying_after_the_threads_next_read(client, serving):
    user = User.objects.create_user(email="ada@example.com")
    pair = session_start(user=user)
    SigningKey.objects.all().delete()  # say, by the admin of another host
    store = keys._key_store()
    generation = store._generation
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        client.get("/auth/whoami", headers=bearer(pair.access))  # wakes the thread
        wait_for_a_reread(store, generation)
        response = client.get("/auth/whoami", headers=bearer(pair.access))
        assert (response.status_code, response.json()["code"]) == (401, "token_invalid")
