"""Changing the email (POST /api/users/me/email, /confirm, /cancel) through the real `api`."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core.models import User
from social.models import SocialAccount
from tests.accounts_helpers import STRONG_PASSWORD, link_in, outbox_to
from tests.api.test_accounts_api import sign_in
from tests.api.test_token_api import assert_invalid_token, assert_problem
from tests.conftest import bearer
from tokens.models import Session

pytestmark = pytest.mark.django_db

OLD, NEW = "grace@example.com", "grace@new.example"


@pytest.fixture
def grace(db) -> User:
    return User.objects.create_user(email=OLD, password=STRONG_PASSWORD, email_verified=True)


@pytest.fixture
def access(client, grace) -> str:
    """A fresh password sign-in's access token (its notice cleared from the outbox)."""
    response = sign_in(client)
    assert response.status_code == 200
    mail.outbox.clear()
    return response.json()["access"]


def change(client, access: str, new_email: str = NEW):
    return client.post("/users/me/email", json={"new_email": new_email}, headers=bearer(access))


def only_email_to(address: str):
    (message,) = outbox_to(address)
    return message


def test_the_whole_change(client, grace, access):
    answer = change(client, access, "Grace@New.Example")

    assert answer.status_code == 202
    confirmation, warning = only_email_to(NEW), only_email_to(OLD)
    assert warning.subject == "Someone asked to change your account's email address"
    assert User.objects.get().email == OLD  # nothing changes before the new address confirms

    assert client.post("/users/me/email/confirm", json=link_in(confirmation)).status_code == 204

    user = User.objects.get()
    assert (user.email, user.email_verified) == (NEW, True)
    assert client.get("/users/me", headers=bearer(access)).json()["email"] == NEW
    assert sign_in(client, NEW).status_code == 200
    # The security notice to the old address; the link is used up.
    notices = [message for message in outbox_to(OLD) if message.subject == "Your account's email address was changed"]
    assert len(notices) == 1
    assert_problem(client.post("/users/me/email/confirm", json=link_in(confirmation)), 400, "link_invalid")


def test_an_unverified_address_changed_becomes_verified(client, grace, access):
    User.objects.filter(pk=grace.pk).update(email_verified=False)
    change(client, access)
    client.post("/users/me/email/confirm", json=link_in(only_email_to(NEW)))
    assert User.objects.get().email_verified


def test_a_taken_address_gets_the_same_answer_and_a_note_and_nothing_changes(client, grace, access):
    User.objects.create_user(email=NEW, email_verified=True)
    free = change(client, access, "free@example.com")

    taken = change(client, access, NEW)

    assert (taken.status_code, taken.json()) == (free.status_code, free.json())
    note = only_email_to(NEW)
    assert note.subject == "Someone tried to use your email address"
    assert "http" not in note.body
    # Only the free address's pair of emails went out: no link for the taken one, no warning for it.
    assert len(outbox_to(OLD)) == 1
    assert User.objects.get(pk=grace.pk).email == OLD


def test_a_change_needs_a_recent_sign_in(client, grace, access, settings):
    Session.objects.update(auth_time=timezone.now() - timedelta(minutes=settings.ACCOUNTS_RECENT_SIGN_IN_MINUTES + 1))
    assert_problem(change(client, access), 403, "reauthentication_required")
    assert not mail.outbox


def test_cancel_from_the_old_address_stops_the_change_and_ends_every_session(client, grace, access):
    other_device = sign_in(client).json()["access"]
    change(client, access)
    confirmation, warning = only_email_to(NEW), next(m for m in outbox_to(OLD) if "change" in m.subject)

    assert client.post("/users/me/email/cancel", json=link_in(warning)).status_code == 204

    assert not Session.objects.filter(ended_at__isnull=True).exists()
    for token in (access, other_device):
        assert_invalid_token(client.get("/users/me", headers=bearer(token)), "token_revoked")
    # The confirmation named the session that asked, which is over: it changes nothing now.
    assert_problem(client.post("/users/me/email/confirm", json=link_in(confirmation)), 400, "link_invalid")
    assert User.objects.get().email == OLD


def test_cancel_takes_the_old_address_back_from_an_account_that_signed_up_with_it_since(client, grace, access):
    """Whoever changed the address registers the old one before the owner cancels: an account that never
    proved the inbox, which the cancel link has just proven."""
    change(client, access, "mallory@evil.example")
    warning = only_email_to(OLD)
    client.post("/users/me/email/confirm", json=link_in(only_email_to("mallory@evil.example")))
    assert client.post("/auth/register", json={"email": OLD, "password": STRONG_PASSWORD}).status_code == 202
    placeholder = User.objects.get(email=OLD)

    assert client.post("/users/me/email/cancel", json=link_in(warning)).status_code == 204

    grace.refresh_from_db()
    assert (grace.email, grace.email_verified) == (OLD, True)
    placeholder.refresh_from_db()
    assert placeholder.email is None
    assert sign_in(client).status_code == 200
    assert_problem(sign_in(client, "mallory@evil.example"), 401, "credentials_invalid")


def test_cancel_leaves_the_old_address_to_an_account_that_proved_it_since(client, grace, access):
    change(client, access)
    warning = only_email_to(OLD)
    client.post("/users/me/email/confirm", json=link_in(only_email_to(NEW)))
    User.objects.create_user(email=OLD, password=STRONG_PASSWORD, email_verified=True)

    assert client.post("/users/me/email/cancel", json=link_in(warning)).status_code == 204

    assert User.objects.get(pk=grace.pk).email == NEW
    assert not Session.objects.filter(user=grace, ended_at__isnull=True).exists()


def test_cancel_after_the_confirmation_undoes_the_change(client, grace, access):
    change(client, access)
    warning = only_email_to(OLD)
    client.post("/users/me/email/confirm", json=link_in(only_email_to(NEW)))
    assert User.objects.get().email == NEW

    assert client.post("/users/me/email/cancel", json=link_in(warning)).status_code == 204

    user = User.objects.get()
    assert (user.email, user.email_verified) == (OLD, True)
    assert not Session.objects.filter(ended_at__isnull=True).exists()


def test_signing_out_of_the_session_that_asked_kills_the_confirmation(client, grace, access):
    change(client, access)
    Session.objects.update(ended_at=timezone.now())
    assert_problem(client.post("/users/me/email/confirm", json=link_in(only_email_to(NEW))), 400, "link_invalid")


@pytest.mark.parametrize("field", ["uid", "token"])
def test_a_tampered_link_is_refused(client, grace, access, field):
    change(client, access)
    link = link_in(only_email_to(NEW))
    link[field] = link[field][:-2] + ("AA" if link[field][-2:] != "AA" else "BB")
    assert_problem(client.post("/users/me/email/confirm", json=link), 400, "link_invalid")
    # The cancel link is not a confirmation link, nor the other way round.
    assert_problem(client.post("/users/me/email/cancel", json=link_in(only_email_to(NEW))), 400, "link_invalid")


def test_linked_identities_keep_their_own_addresses(client, grace, access):
    now = timezone.now()
    SocialAccount.objects.create(
        user=grace, provider="google", subject="1", email=OLD, first_login_at=now, last_login_at=now
    )
    change(client, access)
    client.post("/users/me/email/confirm", json=link_in(only_email_to(NEW)))
    assert SocialAccount.objects.get().email == OLD


def test_the_same_address_sends_nothing(client, grace, access):
    assert change(client, access, OLD).status_code == 202
    assert not mail.outbox
