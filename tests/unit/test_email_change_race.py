"""One email-change confirmation link presented by several requests at once: it changes the address once.

Each request checks the link against the address it covers; without the row lock, several read the old
address before the first wrote the new one, and each answered 204, published user.updated and notified.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connections

from accounts import services
from accounts.errors import LinkInvalid
from core.models import User
from tests.accounts_helpers import STRONG_PASSWORD, link_in, outbox_to
from tests.api.test_accounts_api import sign_in
from tests.conftest import bearer

pytestmark = [pytest.mark.concurrent_db, pytest.mark.django_db(transaction=True)]

THREADS = 6
OLD, NEW = "race@example.com", "race@new.example"


@pytest.mark.parametrize("trial", range(3))
def test_a_confirmation_link_presented_at_once_by_six_requests_changes_the_address_once(trial, client):
    User.objects.create_user(email=OLD, password=STRONG_PASSWORD, email_verified=True)
    access = sign_in(client, email=OLD).json()["access"]
    mail.outbox.clear()
    assert client.post("/users/me/email", json={"new_email": NEW}, headers=bearer(access)).status_code == 202
    (confirmation,) = outbox_to(NEW)
    mail.outbox.clear()
    barrier = threading.Barrier(THREADS)

    def confirm(_):
        try:
            barrier.wait()
            services.email_change_confirm(**link_in(confirmation))
            return "changed"
        except LinkInvalid:
            return "link_invalid"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(confirm, range(THREADS)))

    assert outcomes.count("changed") == 1, outcomes
    assert User.objects.get().email == NEW
    assert len([message for message in outbox_to(OLD) if "change" in message.subject.lower()]) == 1
