"""A disabled or deleted user, or one whose password changes, is signed out at once, whichever
way it happens.

The admin's forms and actions, the API and the shell all go through the user model's save
and delete (which send post_save and pre_delete), or through a bulk update of `is_active`
(core's UserQuerySet sends users_disabled). Each ends every session of the user, writing
them to the denylist, so that access tokens stop working too, not only refresh tokens.

A password change is one rule on the stored hash, not one per view: the admin's password
forms, `set_password` or `set_unusable_password` in a shell, the API's reset and change. A
hasher upgrade at sign-in rewrites the hash of the same password (Django's check_password
saves it without going through set_password) and ends nothing.
"""

import contextvars
import uuid
from typing import Any

from django.db.models.signals import post_init, post_save, pre_delete
from django.dispatch import receiver
from django.utils import timezone

from accounts.notices import notice_send
from accounts.selectors import password_is_a_way_in
from core.models import User
from core.signals import users_disabled
from mfa.models import MfaChallenge
from social.models import SocialAccount
from social.selectors import social_account_list
from social.signals import identity_unlinked_by_provider
from tokens.models import SessionEndReason
from tokens.services import session_end_all
from webhooks.events import EventType
from webhooks.services import event_publish

# The session a password change keeps: the API's change, made from that session, ends the others.
_kept_session: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar("kept_session", default=None)


class session_kept:  # lowercase, like contextlib.suppress: used as `with session_kept(...)`
    """A password change saved inside keeps this session of the user alive."""

    def __init__(self, session_id: uuid.UUID) -> None:
        self._session_id = session_id

    def __enter__(self) -> None:
        self._token = _kept_session.set(self._session_id)

    def __exit__(self, *exc_info: object) -> None:
        _kept_session.reset(self._token)


@receiver(post_init, sender=User, dispatch_uid="accounts.signals.remember_password_hash")
def remember_password_hash(sender: type[User], instance: User, **kwargs: Any) -> None:
    # From __dict__: a deferred field (User.objects.only(...)) must not cost a query here.
    instance._loaded_password_hash = instance.__dict__.get("password")  # type: ignore[attr-defined]


def _password_changed(instance: User, update_fields: frozenset[str] | None) -> bool:
    if update_fields is not None and "password" not in update_fields:
        return False
    if instance.__dict__.get("password") == getattr(instance, "_loaded_password_hash", None):
        return False
    # set_password leaves the raw password in `_password` until save() has sent this signal; a
    # hasher upgrade clears it first. An unusable hash is a change whichever way it came.
    return instance._password is not None or not instance.has_usable_password()  # type: ignore[attr-defined]


@receiver(post_save, sender=User, dispatch_uid="accounts.signals.sign_out_disabled_user")
def sign_out_disabled_user(
    sender: type[User], instance: User, created: bool, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    if created:
        pass
    elif not instance.is_active:
        session_end_all(user_id=instance.pk, reason=SessionEndReason.USER_DISABLED)
    elif _password_changed(instance, update_fields):
        session_end_all(
            user_id=instance.pk, reason=SessionEndReason.PASSWORD_CHANGED, keep_session_id=_kept_session.get()
        )
        # A sign-in with the old password held back for its second step would start a session after this.
        MfaChallenge.objects.filter(user_id=instance.pk, used_at__isnull=True).update(used_at=timezone.now())
    instance._loaded_password_hash = instance.__dict__.get("password")  # type: ignore[attr-defined]


@receiver(users_disabled, dispatch_uid="accounts.signals.sign_out_disabled_users")
def sign_out_disabled_users(sender: type[User], user_ids: list[int], **kwargs: Any) -> None:
    for user_id in user_ids:
        session_end_all(user_id=user_id, reason=SessionEndReason.USER_DISABLED)


@receiver(pre_delete, sender=User, dispatch_uid="accounts.signals.sign_out_deleted_user")
def sign_out_deleted_user(sender: type[User], instance: User, **kwargs: Any) -> None:
    # Before the cascade deletes the sessions: their ids go to the denylist first.
    session_end_all(user_id=instance.pk, reason=SessionEndReason.USER_DISABLED)
    # In the delete's transaction, whatever deletes the user (the API, the admin, a shell).
    event_publish(EventType.USER_DELETED, user_id=instance.pk, data={})


@receiver(identity_unlinked_by_provider, dispatch_uid="accounts.signals.sign_out_unlinked_user")
def sign_out_unlinked_user(sender: type[SocialAccount], user_id: int, provider: str, **kwargs: Any) -> None:
    """The person unlinked the app at the provider: when that was their only way in, their sessions end too.

    Nothing could sign them in again, and what they hold should not outlive the link they cut.
    """
    notice_send(user_id=user_id, kind="identity_unlinked", provider=provider)
    user = User.objects.filter(pk=user_id).first()
    if user is not None and not social_account_list(user_id=user_id) and not password_is_a_way_in(user):
        session_end_all(user_id=user_id, reason=SessionEndReason.SIGN_IN_METHOD_REMOVED)
