"""The sign-up email through Django's SMTP backend to a real SMTP server (aiosmtpd) on loopback."""

import asyncio
import threading
from collections.abc import Iterator
from email import message_from_bytes

import pytest
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP

from tests.api.test_accounts_api import register


class Inbox(Sink):
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    """An SMTP server on 127.0.0.1 on a port the system picks, in its own event loop thread."""
    inbox = Inbox()
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(lambda: SMTP(inbox), host="127.0.0.1", port=0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server.sockets[0].getsockname()[1], inbox
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


@pytest.mark.django_db
def test_the_verification_email_goes_out_through_smtp(client, settings, smtp_server):
    port, inbox = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.DEFAULT_FROM_EMAIL = "Auth backend <no-reply@auth.example>"

    assert register(client, "grace@example.com").status_code == 202

    ((recipients, message),) = inbox.messages
    assert recipients == ["grace@example.com"]
    assert message["From"] == "Auth backend <no-reply@auth.example>"
    assert message["Subject"] == "Confirm your email address"
    assert "/auth/verify-email#uid=" in message.get_payload(decode=True).decode()


@pytest.mark.django_db
def test_an_smtp_server_that_is_down_changes_nothing_in_the_answer(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # Nothing listens on port 1.

    response = register(client, "grace@example.com")

    assert response.status_code == 202
