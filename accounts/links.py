"""The emailed links: a user id and a time-limited token from Django's token generator.

Both kinds of token are HMACs (with SECRET_KEY) of the user's state and a timestamp, so a
token stops working when the state it was made from changes, and after
PASSWORD_RESET_TIMEOUT (ACCOUNTS_EMAIL_LINK_TTL) seconds either way:

- a password reset token covers the password hash and the last sign-in (Django's own
  generator): setting the password, or signing in, uses it up;
- an email verification token covers the password hash, the address and whether it is
  verified: verifying uses it up.

The email change's two tokens carry data (the new address), so they are signed payloads
(django.core.signing, SECRET_KEY, the same time limit) rather than Django's generator:

- the confirmation, to the new address, names the new address, the session that asked and a
  keyed hash of the current address: changing the address uses it up, and ending that session
  (signing out, the old address's cancel link) kills it;
- the cancel link, to the old address, names the old and the new address.
"""

import uuid
from dataclasses import dataclass

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.conf import account_settings
from accounts.errors import LinkInvalid
from core.models import User


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "accounts.links.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{user.pk}{user.password}{user.email}{user.email_verified}{timestamp}"


class PasswordResetLinkTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset tokens without the last sign-in in them: else whoever knows the password could kill the
    owner's pending reset link by signing in (an outside attacker did, every few seconds). The link still
    works once (the password hash is in it), dies with a change of address, and expires
    (ACCOUNTS_EMAIL_LINK_TTL)."""

    key_salt = "accounts.links.PasswordResetLinkTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{user.pk}{user.password}{user.email}{timestamp}"


email_verification_tokens = EmailVerificationTokenGenerator()
password_reset_tokens = PasswordResetLinkTokenGenerator()


def _link(template: str, user: User, generator: PasswordResetTokenGenerator) -> str:
    # str.replace, not str.format: a URL may hold other braces.
    return template.replace("{uid}", _uid(user)).replace("{token}", generator.make_token(user))


def verify_email_link(user: User) -> str:
    return _link(account_settings().verify_email_url, user, email_verification_tokens)


def reset_password_link(user: User) -> str:
    return _link(account_settings().reset_password_url, user, password_reset_tokens)


def link_user(*, uid: str, token: str, generator: PasswordResetTokenGenerator, lock: bool = False) -> User:
    """The active user a link was made for, or LinkInvalid (unknown, expired, used or tampered with);
    `lock`: its row locked until the transaction ends."""
    user = _uid_user(uid, lock=lock)
    if user is None or not generator.check_token(user, token):
        raise LinkInvalid()
    return user


_EMAIL_CHANGE_SALT = "accounts.links.email_change"
_EMAIL_CHANGE_CANCEL_SALT = "accounts.links.email_change_cancel"


def _uid(user: User) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def _current_email_hash(user: User) -> str:
    # Keyed, so that the link to the new address does not tell the old one.
    return salted_hmac(_EMAIL_CHANGE_SALT, f"{user.pk}\n{user.email}", algorithm="sha256").hexdigest()[:32]


def _signed_link(template: str, user: User, payload: dict[str, str], salt: str) -> str:
    token = signing.dumps({"u": user.pk, **payload}, salt=salt)
    return template.replace("{uid}", _uid(user)).replace("{token}", token)


def email_change_link(user: User, *, new_address: str, session_id: str) -> str:
    payload = {"e": new_address, "s": session_id, "h": _current_email_hash(user)}
    return _signed_link(account_settings().email_change_url, user, payload, _EMAIL_CHANGE_SALT)


def email_change_cancel_link(user: User, *, old_address: str, new_address: str) -> str:
    payload = {"o": old_address, "e": new_address}
    return _signed_link(account_settings().email_change_cancel_url, user, payload, _EMAIL_CHANGE_CANCEL_SALT)


def _signed_payload(*, token: str, salt: str, user: User | None) -> dict[str, str]:
    try:
        payload = signing.loads(token, salt=salt, max_age=account_settings().email_link_ttl)
    except signing.BadSignature:  # tampered, foreign or expired
        raise LinkInvalid() from None
    if user is None or not isinstance(payload, dict) or payload.get("u") != user.pk:
        raise LinkInvalid()
    return payload


def _uid_user(uid: str, *, lock: bool = False) -> User | None:
    try:
        user_id = int(urlsafe_base64_decode(uid).decode())
    except (ValueError, UnicodeDecodeError):
        raise LinkInvalid() from None
    users = User.objects.select_for_update() if lock else User.objects.all()
    return users.filter(pk=user_id, is_active=True).first()


@dataclass(frozen=True)
class EmailChangeRequest:
    user: User
    new_address: str
    session_id: uuid.UUID


def email_change_read(*, uid: str, token: str) -> EmailChangeRequest:
    """The change a confirmation link asks for, if the user's address is still the one it was made from."""
    user = _uid_user(uid)
    payload = _signed_payload(token=token, salt=_EMAIL_CHANGE_SALT, user=user)
    assert user is not None
    if not constant_time_compare(str(payload.get("h")), _current_email_hash(user)):
        raise LinkInvalid()
    return EmailChangeRequest(user=user, new_address=str(payload["e"]), session_id=uuid.UUID(str(payload["s"])))


@dataclass(frozen=True)
class EmailChangeCancel:
    user: User
    old_address: str
    new_address: str


def email_change_cancel_read(*, uid: str, token: str) -> EmailChangeCancel:
    user = _uid_user(uid)
    payload = _signed_payload(token=token, salt=_EMAIL_CHANGE_CANCEL_SALT, user=user)
    assert user is not None
    return EmailChangeCancel(user=user, old_address=str(payload["o"]), new_address=str(payload["e"]))
