"""make run's mailbox: the console backend also keeps the links for the sign-in page, in DEBUG only."""

import pytest
from django.core.cache import cache

from tests.api.test_accounts_api import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def dev_mailbox(settings):
    settings.EMAIL_BACKEND = "accounts.mail.DevMailboxBackend"


def test_in_debug_the_page_can_read_the_links_it_would_have_received(
    client, django_client, settings, dev_mailbox, capsys
):
    settings.DEBUG = True
    register(client, "grace@example.com")

    response = django_client.get("/auth/dev-mailbox")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    (message,) = response.json()
    assert message["to"] == ["grace@example.com"]
    assert message["subject"] == "Confirm your email address"
    (link,) = message["links"]
    assert "/auth/verify-email#uid=" in link
    assert link in capsys.readouterr().out  # The console has it too.
    assert b'data-dev-mailbox="1"' in django_client.get("/").content


def test_without_debug_the_mailbox_is_not_served(client, django_client, settings, dev_mailbox):
    settings.DEBUG = False
    register(client, "grace@example.com")
    assert cache.get("accounts:dev-mailbox")

    assert django_client.get("/auth/dev-mailbox").status_code == 404
    assert b"data-dev-mailbox" not in django_client.get("/").content
