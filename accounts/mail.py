"""The emails of the account life cycle, sent through Django's email framework.

No email carries text a stranger could have written: whoever signs up types the display
name, and the address may not be theirs (a "Hello <name>," turns the email into a message
from them). So emails greet no one by name.

EMAIL_BACKEND decides where they go: SMTP in production, the console under `make run`,
memory (django.core.mail.outbox) in tests. A failure to send is logged and swallowed: the
endpoints that send answer the same whether or not an email went out (no enumeration),
and the person can ask again.
"""

import logging
import re
import smtplib

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from django.template.loader import render_to_string

from accounts.links import reset_password_link, verify_email_link
from core.models import User

logger = logging.getLogger(__name__)


def _send(*, user: User, kind: str, subject: str, context: dict) -> None:
    # Every caller found or made the user by an email address; social-only users may have none.
    assert user.email is not None, "emails go only to users found by their address"
    body = render_to_string(f"accounts/email/{kind}.txt", {"user": user, **context})
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    except (smtplib.SMTPException, OSError):
        # No address and no body in the log: the body holds a live link.
        logger.exception("Could not send the %s email to user %s", kind, user.pk)


def verify_email_send(*, user: User) -> None:
    _send(
        user=user, kind="verify_email", subject="Confirm your email address", context={"link": verify_email_link(user)}
    )


def sign_up_attempt_send(*, user: User) -> None:
    """To an address that already has an account: someone (maybe its owner) tried to sign up with it."""
    _send(
        user=user,
        kind="sign_up_attempt",
        subject="Someone tried to sign up with your email address",
        context={"link": reset_password_link(user)},
    )


def reset_password_send(*, user: User) -> None:
    _send(user=user, kind="reset_password", subject="Reset your password", context={"link": reset_password_link(user)})


# --- make run: the console, and the links on the sign-in page --------------------------------

_DEV_MAILBOX_KEY = "accounts:dev-mailbox"
_DEV_MAILBOX_SIZE = 10
_LINK = re.compile(r"https?://\S+")


class DevMailboxBackend(ConsoleEmailBackend):
    """The console backend that also keeps the last emails' links for the sign-in page (DEBUG only).

    `make run` uses it, so that signing up on the page needs no mail server: the page shows
    the link it would have received (web.views.dev_mailbox refuses to serve them without DEBUG).
    """

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        mailbox = [
            {"to": message.to, "subject": message.subject, "links": _LINK.findall(message.body)}
            for message in email_messages
        ]
        cache.set(_DEV_MAILBOX_KEY, (mailbox + dev_mailbox())[:_DEV_MAILBOX_SIZE], timeout=3600)
        return sent


def dev_mailbox() -> list[dict]:
    """The last emails DevMailboxBackend sent, newest first."""
    return cache.get(_DEV_MAILBOX_KEY) or []
