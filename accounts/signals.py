"""A disabled or deleted user is signed out at once, whichever way it happens.

The admin's forms and actions, the API and the shell all go through the user model's save
and delete (which send post_save and pre_delete), or through a bulk update of `is_active`
(core's UserQuerySet sends users_disabled). Each ends every session of the user, writing
them to the denylist, so that access tokens stop working too, not only refresh tokens.
"""

from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from accounts.selectors import password_is_a_way_in
from core.models import User
from core.signals import users_disabled
from social.selectors import social_account_list
from social.signals import identity_unlinked_by_provider
from tokens.models import SessionEndReason
from tokens.services import session_end_all


@receiver(post_save, sender=User, dispatch_uid="accounts.signals.sign_out_disabled_user")
def sign_out_disabled_user(sender, instance, created: bool, **kwargs) -> None:
    if not instance.is_active and not created:
        session_end_all(user_id=instance.pk, reason=SessionEndReason.USER_DISABLED)


@receiver(users_disabled, dispatch_uid="accounts.signals.sign_out_disabled_users")
def sign_out_disabled_users(sender, user_ids: list[int], **kwargs) -> None:
    for user_id in user_ids:
        session_end_all(user_id=user_id, reason=SessionEndReason.USER_DISABLED)


@receiver(pre_delete, sender=User, dispatch_uid="accounts.signals.sign_out_deleted_user")
def sign_out_deleted_user(sender, instance, **kwargs) -> None:
    # Before the cascade deletes the sessions: their ids go to the denylist first.
    session_end_all(user_id=instance.pk, reason=SessionEndReason.USER_DISABLED)


@receiver(identity_unlinked_by_provider, dispatch_uid="accounts.signals.sign_out_unlinked_user")
def sign_out_unlinked_user(sender, user_id: int, **kwargs) -> None:
    """The person unlinked the app at the provider: when that was their only way in, their sessions end too.

    Nothing could sign them in again, and what they hold should not outlive the link they cut.
    """
    user = User.objects.filter(pk=user_id).first()
    if user is not None and not social_account_list(user_id=user_id) and not password_is_a_way_in(user):
        session_end_all(user_id=user_id, reason=SessionEndReason.SIGN_IN_METHOD_REMOVED)
