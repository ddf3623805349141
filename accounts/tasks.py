"""The accounts app's tasks (core.tasks): the emails of the account life cycle, sent by the worker."""

import logging

from django_tasks import task

from accounts import mail
from accounts.conf import account_settings
from accounts.mail import EMAILS
from core.models import User
from core.tasks import task_retry

logger = logging.getLogger(__name__)


@task()
def account_email_deliver(*, kind: str, address: str, attempt: int = 1) -> None:
    """Sends the `kind` email to the user of the canonical `address`, if there is one that is to get it.

    The link is made here, when the email leaves: the queue's row holds the address, never a live link.
    """
    user = User.objects.filter(email=address).first()
    is_due, send = EMAILS[kind]
    if user is None or not is_due(user):
        return
    try:
        send(user=user)
    except Exception:  # any mail backend error, SMTP or configuration: logged and retried, never the caller's
        # No address and no body in the log: the body holds a live link.
        logger.exception("Could not send the %s email to user %s", kind, user.pk)
        task_retry(account_email_deliver, attempt=attempt, kind=kind, address=address)


@task()
def email_code_deliver(*, address: str, language: str = "", attempt: int = 1) -> None:
    """A sign-in code to the canonical `address`, if it has an active account or may sign up with one; in the
    account's language, or for a new address the `language` the request asked for.

    The code is made here (accounts.codes) as the email leaves: the row holds the address only.
    """
    user = User.objects.filter(email=address).first()
    if user is None:
        if not account_settings().email_code_signup:
            return
        user = User(email=address, language=language)  # unsaved: the account is made when the code comes back
    elif not user.is_active:
        return
    try:
        mail.email_code_send(user=user)
    except Exception:  # as account_email_deliver: logged (no address, no code) and retried with a new code
        logger.exception("Could not send the email_code email to user %s", user.pk)
        task_retry(email_code_deliver, attempt=attempt, address=address, language=language)


@task()
def email_change_deliver(*, user_id: int, session_id: str, new_address: str, attempt: int = 1) -> None:
    """An email change's emails: to an address another account holds, a note saying so; to a free one the
    confirmation link, with a cancel link to the current address. Links are made here, as they leave."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    holder = User.objects.filter(email=new_address).first()
    try:
        if holder is not None:
            if holder.pk != user.pk:
                mail.email_taken_send(user=holder)
            return
        mail.email_change_confirm_send(user=user, new_address=new_address, session_id=session_id)
        if user.email:
            mail.email_change_requested_send(user=user, new_address=new_address)
    except Exception:
        logger.exception("Could not send the email change's emails of user %s", user.pk)
        task_retry(
            email_change_deliver, attempt=attempt, user_id=user_id, session_id=session_id, new_address=new_address
        )


@task()
def notice_deliver(
    *, user_id: int, kind: str, address: str | None = None, details: dict[str, str], attempt: int = 1
) -> None:
    """The `kind` security notice (accounts.notices) to the user's address, or to `address` (the old address
    of an email change, the address of a deleted account)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        if address is None:
            return
        user = User(email=address)  # the account is gone; its address was read before (accounts.notices)
    if not (address or user.email):
        return
    try:
        mail.notice_mail_send(user=user, kind=kind, address=address, details=details)
    except Exception:
        logger.exception("Could not send the %s notice to user %s", kind, user_id)
        task_retry(notice_deliver, attempt=attempt, user_id=user_id, kind=kind, address=address, details=details)
