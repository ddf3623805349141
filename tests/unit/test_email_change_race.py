"""Email-change links presented at once: one confirmation link by several requests, and a confirmation
with the old address's cancel.

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


@pytest.mark.parametrize("trial", range(5))
def test_a_cancel_at_the_moment_of_the_confirmation_leaves_the_old_address(trial, client):
    """Whichever commits first, the owner's "this wasn't me" wins: the cancel undoes a confirmation that
    committed before it, and a confirmation after it finds its session ended. Without the row lock in both,
    a cancel that read the address before the confirmation wrote it left the new address in place."""
    User.objects.create_user(email=OLD, password=STRONG_PASSWORD, email_verified=True)
    access = sign_in(client, email=OLD).json()["access"]
    mail.outbox.clear()
    assert client.post("/users/me/email", json={"new_email": NEW}, headers=bearer(access)).status_code == 202
    (confirmation,) = outbox_to(NEW)
    (warning,) = [message for message in outbox_to(OLD) if "change" in message.subject.lower()]
    barrier = threading.Barrier(2)

    def present(action):
        try:
            barrier.wait()
            action()
            return "done"
        except LinkInvalid:
            return "link_invalid"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(
            pool.map(
                present,
                (
                    lambda: services.email_change_confirm(**link_in(confirmation)),
                    lambda: services.email_change_cancel(**link_in(warning)),
                ),
            )
        )

    assert outcomes[1] == "done"
    user = User.objects.get()
    assert (user.email, user.email_verified) == (OLD, True), outcomes
