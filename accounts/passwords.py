"""The proof of a signed-in user's password, for the actions that ask for it again (accounts, mfa)."""

from django.utils.translation import gettext_lazy as _

from accounts.errors import PasswordIncorrect
from accounts.throttling import sign_in_failures
from core.models import User


def password_prove(user: User, password: str) -> None:
    """PasswordIncorrect unless `password` is the account's. Wrong guesses count per account
    (sign_in_failures, apart from the sign-in's own counts): whoever holds a stolen access token
    or a verification link cannot guess on without limit (429 once spent)."""
    counted_as = f"account:{user.pk}"
    sign_in_failures.check(counted_as)
    if not user.has_usable_password() or not user.check_password(password):
        sign_in_failures.record(counted_as)
        raise PasswordIncorrect(_("The password is not this account's."))
