"""The accounts app's tasks (core.tasks): the emails of the account life cycle, sent by the worker."""

import logging

from django_tasks import task

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
