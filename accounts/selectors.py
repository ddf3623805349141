"""Read-only queries of the accounts app."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.conf import account_settings
from core.models import User
from social.selectors import social_account_list
from tokens.errors import TokenRevoked


def user_get(*, user_id: int) -> User:
    """The user behind a principal: one query. A deleted or deactivated user ends the token's use."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise TokenRevoked(_("The user of this token no longer exists or is disabled."))
    return user


def password_is_a_way_in(user: User) -> bool:
    """Whether the user can sign in with a password now: one set, an address to give, the feature on."""
    return bool(account_settings().password_login and user.email and user.has_usable_password())


def identity_list(*, user_id: int) -> dict[str, Any]:
    """The user's social identities, and whether a password is set."""
    user = user_get(user_id=user_id)
    return {"has_password": user.has_usable_password(), "identities": social_account_list(user_id=user.pk)}
