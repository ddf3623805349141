"""The emailed links: a user id and a time-limited token from Django's token generator.

Both kinds of token are HMACs (with SECRET_KEY) of the user's state and a timestamp, so a
token stops working when the state it was made from changes, and after
PASSWORD_RESET_TIMEOUT (ACCOUNTS_EMAIL_LINK_TTL) seconds either way:

- a password reset token covers the password hash and the last sign-in (Django's own
  generator): setting the password, or signing in, uses it up;
- an email verification token covers the password hash, the address and whether it is
  verified: verifying uses it up.
"""

from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.conf import account_settings
from accounts.errors import LinkInvalid
from core.models import User


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "accounts.links.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{user.pk}{user.password}{user.email}{user.email_verified}{timestamp}"


email_verification_tokens = EmailVerificationTokenGenerator()
password_reset_tokens = default_token_generator


def _link(template: str, user: User, generator: PasswordResetTokenGenerator) -> str:
    # str.replace, not str.format: a URL may hold other braces.
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return template.replace("{uid}", uid).replace("{token}", generator.make_token(user))


def verify_email_link(user: User) -> str:
    return _link(account_settings().verify_email_url, user, email_verification_tokens)


def reset_password_link(user: User) -> str:
    return _link(account_settings().reset_password_url, user, password_reset_tokens)


def link_user(*, uid: str, token: str, generator: PasswordResetTokenGenerator) -> User:
    """The active user a link was made for, or LinkInvalid (unknown, expired, used or tampered with)."""
    try:
        user_id = int(urlsafe_base64_decode(uid).decode())
    except (ValueError, UnicodeDecodeError):
        raise LinkInvalid() from None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not generator.check_token(user, token):
        raise LinkInvalid()
    return user
