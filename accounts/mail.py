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
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts import codes
from accounts.conf import account_settings
from accounts.links import email_change_cancel_link, email_change_link, reset_password_link, verify_email_link
from core.errors import Text
from core.models import User

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _send(*, user: User, kind: str, subject: Text, context: dict, address: str | None = None) -> None:
    """The `kind` email, in the user's language, to their address or to `address` (an email change's other one)."""
    to = address or user.email
    # Every caller found the user by an email address, or names one; social-only users may have none.
    assert to is not None, "emails go only to users found by their address"
    # A language since removed from LANGUAGES falls back to LANGUAGE_CODE, as an unknown one does.
    language = user.language if user.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    with translation.override(language):
        body = render_to_string(f"accounts/email/{kind}.txt", {"user": user, **context})
        send_mail(str(subject), body, settings.DEFAULT_FROM_EMAIL, [to])


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


def email_code_send(*, user: User) -> None:
    """A new sign-in code to the user's address (an unsaved User for an address signing up), made now."""
    assert user.email is not None
    code = codes.code_issue(user.email)
    link = account_settings().email_code_url.replace("{email}", quote(user.email)).replace("{code}", code)
    _send(user=user, kind="email_code", subject=_("Your sign-in code"), context={"code": code, "link": link})


def email_change_confirm_send(*, user: User, new_address: str, session_id: str) -> None:
    """To the new address: the link that makes it the user's."""
    _send(
        user=user,
        kind="email_change_confirm",
        subject=_("Confirm your new email address"),
        context={"link": email_change_link(user, new_address=new_address, session_id=session_id)},
        address=new_address,
    )


def email_change_requested_send(*, user: User, new_address: str) -> None:
    """To the current address: someone asked to move the account away from it, and how to stop them."""
    old_address = user.email
    assert old_address is not None
    _send(
        user=user,
        kind="email_change_requested",
        subject=_("Someone asked to change your account's email address"),
        context={"link": email_change_cancel_link(user, old_address=old_address, new_address=new_address)},
    )


def email_taken_send(*, user: User) -> None:
    """To an address another account asked to move to: it has an account already; nothing changed."""
    _send(user=user, kind="email_taken", subject=_("Someone tried to use your email address"), context={})


# Each security notice (accounts.notices) by kind, and its subject: the one list of the kinds.
NOTICES: dict[str, "StrOrPromise"] = {
    "new_device": _("New sign-in to your account"),
    "password_changed": _("Your password was changed"),
    "email_changed": _("Your account's email address was changed"),
    "identity_linked": _("A sign-in method was linked to your account"),
    "identity_unlinked": _("A sign-in method was removed from your account"),
    "second_factor_added": _("A second factor was added to your account"),
    "second_factor_removed": _("A second factor was removed from your account"),
    "passkey_added": _("A passkey was added to your account"),
    "passkey_removed": _("A passkey was removed from your account"),
    "account_deleted": _("Your account was deleted"),
}


def notice_mail_send(*, user: User, kind: str, address: str | None, details: dict[str, str]) -> None:
    """The `kind` notice: what happened, and no link that signs in (the email change's cancel link ends sessions)."""
    context: dict[str, str] = {"kind": kind, **details}
    if kind == "email_changed":
        context["link"] = email_change_cancel_link(
            user, old_address=details["old_address"], new_address=details["new_address"]
        )
    _send(user=user, kind="notice", subject=NOTICES[kind], context=context, address=address)


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
