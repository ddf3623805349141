"""Who a provider identity signs in as: its account, created, updated or linked to an existing user.

Only an address the provider vouches for (Identity.email_links) becomes the user's, verified,
and finds an existing user to link to; any other stays on the identity's row (SocialAccount).
"""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.notices import notice_send
from core.emails import canonical_email_or_none
from core.errors import AccountDisabled
from core.models import AVATAR_URL_MAX_LENGTH, DISPLAY_NAME_MAX_LENGTH, User
from core.transactions import retry_on_conflict
from social.conf import social_settings
from social.errors import IdentityInUse, LoginConflict
from social.models import SocialAccount
from social.providers.base import Identity
from tokens.models import SessionEndReason
from tokens.services import session_end_all
from webhooks.events import EventType, identity_data, user_data
from webhooks.services import event_publish


@retry_on_conflict
def social_account_upsert(
    *, provider: str, identity: Identity, link_user_id: int | None = None
) -> tuple[SocialAccount, bool]:
    """The account of this identity, created with its user at the first login, updated at every other.

    Returns the account and whether its user was created. With `link_user_id`, a new
    identity is attached to that user, and one that belongs to someone else is refused
    (IdentityInUse). Two first logins of one identity racing each other both try to
    insert; the unique constraint fails the second, which then finds the first one's row
    and updates it. A second failure in a row is a problem (LoginConflict), never a 500.
    """
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _social_account_upsert(provider=provider, identity=identity, link_user_id=link_user_id)
        except IntegrityError:
            if attempt:
                raise LoginConflict() from None
    raise AssertionError("unreachable")


def _social_account_find(*, provider: str, subject: str) -> SocialAccount | None:
    return (
        SocialAccount.objects.select_for_update()
        .select_related("user")
        .filter(provider=provider, subject=subject)
        .first()
    )


def _social_account_upsert(
    *, provider: str, identity: Identity, link_user_id: int | None
) -> tuple[SocialAccount, bool]:
    now = timezone.now()
    # The address the provider vouches for (Identity.email_links), in canonical form (core.emails),
    # is the only one that may become the user's, verified, or find a user to link to: one the
    # provider verified once but is not authoritative for (Google, neither Gmail nor Workspace)
    # may belong to someone else by now, and would deny the real owner their own sign-up. Any
    # other stays on the identity's row, with whether a trusted provider verified it.
    trusted_email = canonical_email_or_none(identity.email) if identity.email_trusted else None
    verified_email = trusted_email if identity.email_links else None
    account = _social_account_find(provider=provider, subject=identity.subject)
    created = created_account = False
    if link_user_id is not None and account is not None and account.user_id != link_user_id:
        raise IdentityInUse(_("Sign in with it and unlink it there first."))
    if account is None:
        user: User | None = (
            _user_to_link_to(link_user_id) if link_user_id is not None else _user_to_link(verified_email)
        )
        if user is None:
            user, created = _user_create(identity=identity, verified_email=verified_email), True
        account = SocialAccount(user=user, provider=provider, subject=identity.subject, first_login_at=now)
        created_account = True
    account.email = identity.email or ""
    account.email_verified = trusted_email is not None
    account.profile = identity.profile
    account.last_login_at = now
    account.save()
    if created_account:
        event_publish(
            EventType.IDENTITY_LINKED,
            user_id=account.user_id,
            data=identity_data(identity_id=account.pk, provider=provider),
        )
    _user_complete(account.user, identity=identity, verified_email=verified_email, now=now)
    if created_account and not created:  # a new way into an existing account
        notice_send(user_id=account.user_id, kind="identity_linked", provider=provider)
    return account, created


def _user_to_link_to(user_id: int) -> User:
    """The user who asked to link this identity, as long as they still may sign in."""
    user: User | None = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    if user is None:
        raise AccountDisabled(_("The user who began linking is disabled or deleted."))
    return user


def _user_to_link(verified_email: str | None) -> User | None:
    """The existing user a new identity signs in as: the owner of its verified email, if linking is on.

    An account whose address was never verified was made by whoever typed the address, and
    that may be an attacker waiting for its owner to sign in with a provider (pre-account
    takeover). The provider has now proven the address is this person's: the account's
    password is made unusable and its sessions end before the identity is linked to it.
    """
    if verified_email is None or not social_settings().link_by_verified_email:
        return None
    # Staff and superusers sign in with their password, or an identity they linked while signed
    # in: an address at a provider must never be a way into an administrator's account.
    user: User | None = (
        User.objects.select_for_update().filter(email=verified_email, is_staff=False, is_superuser=False).first()
    )
    if user is not None and not user.email_verified:
        unverified_account_claim(user)
    return user


def unverified_account_claim(user: User) -> None:
    """Takes an unverified account from whoever set it up: no password, no sessions, no chosen name."""
    # Ended first, under their own reason: the unusable password would end them as a password change.
    session_end_all(user_id=user.pk, reason=SessionEndReason.EMAIL_CLAIMED)
    user.set_unusable_password()
    user.email_verified = True
    user.display_name = ""
    user.save(update_fields=["password", "email_verified", "display_name"])
    event_publish(
        EventType.USER_UPDATED, user_id=user.pk, data=user_data(user, changed=("email_verified", "display_name"))
    )


def _email_is_free(email: str) -> bool:
    return not User.objects.filter(email=email).exists()


def _user_create(*, identity: Identity, verified_email: str | None) -> User:
    # A verified email another user already has (linking being off) stays off this user:
    # emails are unique, and the account row keeps it anyway.
    email = verified_email if verified_email and _email_is_free(verified_email) else None
    user = User.objects.create_user(
        email=email,
        email_verified=email is not None,
        display_name=identity.display_name[:DISPLAY_NAME_MAX_LENGTH],
        avatar_url=_avatar_url(identity),
    )
    event_publish(EventType.USER_CREATED, user_id=user.pk, data=user_data(user))
    return user


def _avatar_url(identity: Identity) -> str:
    # A cut URL would be a broken one.
    return identity.avatar_url if len(identity.avatar_url) <= AVATAR_URL_MAX_LENGTH else ""


def _user_complete(user: User, *, identity: Identity, verified_email: str | None, now: datetime) -> None:
    """Fills what the user lacks from the provider; never replaces what the user has."""
    changes: dict[str, Any] = {"last_login": now}
    if user.email is None and verified_email and _email_is_free(verified_email):
        changes.update(email=verified_email, email_verified=True)
    if not user.display_name and identity.display_name:
        changes["display_name"] = identity.display_name[:DISPLAY_NAME_MAX_LENGTH]
    if not user.avatar_url and _avatar_url(identity):
        changes["avatar_url"] = _avatar_url(identity)
    for field, value in changes.items():
        setattr(user, field, value)
    user.save(update_fields=list(changes))
    if reported := tuple(field for field in ("email", "email_verified", "display_name") if field in changes):
        event_publish(EventType.USER_UPDATED, user_id=user.pk, data=user_data(user, changed=reported))
