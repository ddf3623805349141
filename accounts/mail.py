"""The emails of the account life cycle, sent through Django's email framework.

No email carries text a stranger could have written: whoever signs up types the display
name, and the address may not be theirs (a "Hello <name>," turns the email into a message
from them). So emails greet no one by name.

EMAIL_BACKEND decides where they go: SMTP in production, the console under `make run`,
memory (django.core.mail.outbox) in tests. They leave through the task queue
(accounts.tasks, core.tasks), after the answer: the endpoints enqueue the same task for an
address with an account and one without, and the worker decides whether anything is sent,
so neither the answer nor its timing tells which (no enumeration). A failure to send is the
task's to log and retry.

Each email is in its user's language (User.language, set at sign-up and changeable), else in
LANGUAGE_CODE: the worker has no request to take one from (docs/i18n.md).
"""

import re
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.links import reset_password_link, verify_email_link
from core.errors import Text
from core.models import User


def _send(*, user: User, kind: str, subject: Text, context: dict) -> None:
    # Every caller found the user by an email address; social-only users may have none.
    assert user.email is not None, "emails go only to users found by their address"
    # A language since removed from LANGUAGES falls back to LANGUAGE_CODE, as an unknown one does.
    language = user.language if user.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    with translation.override(language):
        body = render_to_string(f"accounts/email/{kind}.txt", {"user": user, **context})
        send_mail(str(subject), body, settings.DEFAULT_FROM_EMAIL, [user.email])


def verify_email_send(*, user: User) -> None:
    _send(
        user=user,
        kind="verify_email",
        subject=_("Confirm your email address"),
        context={"link": verify_email_link(user)},
    )


def sign_up_attempt_send(*, user: User) -> None:
    """To an address that already has an account: someone (maybe its owner) tried to sign up with it."""
    _send(
        user=user,
        kind="sign_up_attempt",
        subject=_("Someone tried to sign up with your email address"),
        context={"link": reset_password_link(user)},
    )


def reset_password_send(*, user: User) -> None:
    _send(
        user=user, kind="reset_password", subject=_("Reset your password"), context={"link": reset_password_link(user)}
    )


# Each email by kind: whether the user of the address is (still) to get it when the worker runs, and how.
EMAILS: dict[str, tuple[Callable[[User], bool], Callable[..., None]]] = {
    # Sign-up and resend: only an account still waiting for its first verification.
    "verify_email": (
        lambda user: user.is_active and not user.email_verified and user.has_usable_password(),
        verify_email_send,
    ),
    "sign_up_attempt": (lambda user: user.is_active, sign_up_attempt_send),
    "reset_password": (lambda user: user.is_active, reset_password_send),
}


# --- make run: the console, and the links on the sign-in page --------------------------------

_DEV_MAILBOX_KEY = "accounts:dev-mailbox"
_DEV_MAILBOX_SIZE = 10
_LINK = re.compile(r"https?://\S+")


class DevMailboxBackend(ConsoleEmailBackend):
    """The console backend that also keeps the last emails' links for the sign-in page (DEBUG only).

    `make run` uses it, so that signing up on the page needs no mail server: the page shows
    the link it would have received (web.views.dev_mailbox refuses to serve them without DEBUG).
    """

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = super().send_messages(email_messages)
        mailbox = [
            {"to": message.to, "subject": message.subject, "links": _LINK.findall(str(message.body))}
            for message in email_messages
        ]
        cache.set(_DEV_MAILBOX_KEY, (mailbox + dev_mailbox())[:_DEV_MAILBOX_SIZE], timeout=3600)
        return sent


def dev_mailbox() -> list[dict]:
    """The last emails DevMailboxBackend sent, newest first."""
    return cache.get(_DEV_MAILBOX_KEY) or []
