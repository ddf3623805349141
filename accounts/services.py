"""What the accounts app does: sign-up, verification, password sign-in, reset and change,
identities and deletion. Sessions and tokens are the tokens app's; identities the social app's.

Every endpoint that takes an email answers alike for an address with an account and one
without, and does the same password-hashing work for both (one hash or one check), so
neither the answer nor the hasher tells whether an account exists.
"""

import functools
import secrets
import uuid
from dataclasses import dataclass

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import devices, links
from accounts.conf import account_settings
from accounts.errors import (
    CredentialsInvalid,
    EmailUnverified,
    IdentityNotFound,
    LastSignInMethod,
    PasswordIncorrect,
    PasswordInvalid,
    PasswordLoginDisabled,
    PasswordRequired,
    ReauthenticationRequired,
)
from accounts.selectors import password_is_a_way_in, user_get
from accounts.signals import session_kept
from accounts.tasks import account_email_deliver
from accounts.throttling import sign_in_failures
from core.emails import canonical_email, canonical_email_or_none
from core.errors import AccountDisabled
from core.events import AuthEvent, email_target, emit
from core.models import DISPLAY_NAME_MAX_LENGTH, User
from core.transactions import retry_on_conflict
from social import services as social_services
from social.selectors import social_account_list
from tokens.errors import TokenRevoked
from tokens.selectors import session_started_at
from tokens.services import TokenPair, access_token_authenticate, session_start


def _password_login_required() -> None:
    if not account_settings().password_login:
        raise PasswordLoginDisabled()


def _password_validate(password: str, *, user: User) -> None:
    """AUTH_PASSWORD_VALIDATORS, their messages in the problem's `errors`."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise PasswordInvalid(_("See `errors` for what the password lacks."), errors=list(exc.messages)) from None


@functools.cache
def _dummy_encoded(hasher_path: str) -> str:
    return make_password(secrets.token_urlsafe(16))


def _dummy_password_check(password: str) -> None:
    """The check a known user's password gets, against a hash nobody has: the same work, no answer."""
    hasher = get_hasher()
    check_password(password, _dummy_encoded(f"{type(hasher).__module__}.{type(hasher).__qualname__}"))


def _user_by_email(email: str) -> User | None:
    address = canonical_email_or_none(email)
    return User.objects.filter(email=address).first() if address else None


def account_register(*, email: str, password: str, display_name: str = "", language: str = "") -> None:
    """Signs an address up, or tells its owner someone tried; the caller cannot tell which.

    A new address gets an account with an unverified email and a verification link. An
    address that has an account, verified or not, gets no new password: its owner gets an
    email saying someone tried to sign up, with a link to set a password. So a sign-up
    never changes an existing account, and an attacker's password on an address waits,
    unusable, until whoever reads that inbox confirms it or replaces it. `language`, that of
    a new account's emails, leaves an existing one's alone too.
    """
    _password_login_required()
    address = canonical_email(email)
    draft = User(email=address, display_name=display_name[:DISPLAY_NAME_MAX_LENGTH], language=language)
    _password_validate(password, user=draft)
    draft.set_password(password)  # Hashed whatever follows: the same work for every address.
    existing = User.objects.filter(email=address).first()
    if existing is None:
        try:
            with transaction.atomic():
                draft.save()
        except IntegrityError:  # A concurrent sign-up of the same address won.
            existing = User.objects.get(email=address)
        else:
            account_email_deliver.enqueue(kind="verify_email", address=address)
            return
    account_email_deliver.enqueue(kind="sign_up_attempt", address=address)


def account_email_verify(
    *,
    uid: str,
    token: str,
    password: str | None = None,
    access: str | None = None,
    user_agent: str = "",
    ip: str | None = None,
) -> TokenPair:
    """Marks the address verified (the link is then used up) and signs the user in.

    The link proves that the person reads the inbox, not that they registered: anyone can sign
    up with someone else's address, and the owner, clicking, would otherwise verify (and sign
    in to) the stranger's account, whose password the stranger still knows. So the person also
    proves the account: its password, or an access token of it. Without either the link
    verifies nothing (PasswordRequired); the owner who did not register resets the password
    instead, which verifies the address and kills the stranger's password (docs/accounts.md).
    """
    _password_login_required()
    user = links.link_user(uid=uid, token=token, generator=links.email_verification_tokens)
    if password is not None:
        _password_prove(user, password)
    elif access is None or access_token_authenticate(token=access).user_id != user.pk:
        raise PasswordRequired(_("Open the link in the browser you signed up in and give the password you chose."))
    user.email_verified = True
    user.last_login = timezone.now()
    user.save(update_fields=["email_verified", "last_login"])
    emit(AuthEvent.SIGN_IN, outcome="success", provider="email_link", user_id=user.pk)
    return session_start(user=user, user_agent=user_agent, ip=ip)


def user_update(*, user_id: int, display_name: str | None = None, language: str | None = None) -> User:
    """Changes the fields given (None: unchanged) and answers the user: two queries."""
    user = user_get(user_id=user_id)
    changes = {"display_name": display_name, "language": language}
    fields = [name for name, value in changes.items() if value is not None]
    for name in fields:
        setattr(user, name, changes[name])
    if fields:
        user.save(update_fields=fields)
    return user


def account_verification_resend(*, email: str) -> None:
    """A new verification link, if the address has an account waiting for one (the worker looks)."""
    _password_login_required()
    address = canonical_email_or_none(email)
    if address is not None:
        account_email_deliver.enqueue(kind="verify_email", address=address)


@dataclass(frozen=True)
class PasswordSignIn:
    tokens: TokenPair
    # For the client to keep and send back (accounts.devices).
    device_token: str


def account_password_sign_in(
    *, email: str, password: str, device_token: str | None = None, user_agent: str = "", ip: str | None = None
) -> PasswordSignIn:
    """A token pair (and a device token) for the right email and password.

    An unknown address and a wrong password are one answer after one password check each;
    only a right password learns whether the account is disabled or unverified. Failures are
    counted per address, or per device for a client whose device token names this account
    (accounts.throttling); a spent budget is 429 before any password check.
    """
    _password_login_required()
    address = canonical_email_or_none(email) or email.strip().lower()
    target = email_target(address)
    user = _user_by_email(email)
    device = devices.device_token_read(device_token)
    counted_as = f"device:{device.device_id}" if device and user and device.user_id == user.pk else address
    sign_in_failures.check(counted_as)
    if user is None or not user.has_usable_password():
        _dummy_password_check(password)
        sign_in_failures.record(counted_as)
        raise CredentialsInvalid(target=target)
    if not user.check_password(password):
        sign_in_failures.record(counted_as)
        raise CredentialsInvalid(target=target)
    if not user.is_active:
        raise AccountDisabled(_("An administrator has disabled this account."), target=target)
    if not user.email_verified:
        raise EmailUnverified(_("Open the link emailed at sign-up, or ask for a new one."), target=target)
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    emit(AuthEvent.SIGN_IN, outcome="success", provider="password", user_id=user.pk)
    tokens = session_start(user=user, user_agent=user_agent, ip=ip)
    return PasswordSignIn(tokens=tokens, device_token=devices.device_token_issue(user_id=user.pk))


def password_reset_request(*, email: str) -> None:
    """A reset link to the address, if it has an active account (one without a password gets its first).

    The request only enqueues: whether the address has an account is the worker's to find out,
    after the answer, so the answer takes the same time either way.
    """
    _password_login_required()
    address = canonical_email_or_none(email)
    if address is not None:
        account_email_deliver.enqueue(kind="reset_password", address=address)


def password_reset_confirm(
    *, uid: str, token: str, new_password: str, user_agent: str = "", ip: str | None = None
) -> TokenPair:
    """Sets the password from a reset link, ends every session and signs in afresh.

    The link proves the person reads the address's inbox, so the address is verified too.
    """
    _password_login_required()
    user = links.link_user(uid=uid, token=token, generator=links.password_reset_tokens)
    _password_validate(new_password, user=user)
    user.set_password(new_password)
    user.email_verified = True
    user.last_login = timezone.now()
    # Ends every session of the user (accounts.signals), before this one starts.
    user.save(update_fields=["password", "email_verified", "last_login"])
    emit(AuthEvent.SIGN_IN, outcome="success", provider="password_reset", user_id=user.pk)
    return session_start(user=user, user_agent=user_agent, ip=ip)


def _password_prove(user: User, password: str) -> None:
    """PasswordIncorrect unless `password` is the account's. Wrong guesses count per account
    (sign_in_failures, apart from the sign-in's own counts): whoever holds a stolen access token
    or a verification link cannot guess on without limit (429 once spent)."""
    counted_as = f"account:{user.pk}"
    sign_in_failures.check(counted_as)
    if not user.has_usable_password() or not user.check_password(password):
        sign_in_failures.record(counted_as)
        raise PasswordIncorrect(_("The password is not this account's."))


def _signed_in_recently(session_id: uuid.UUID) -> bool:
    started_at = session_started_at(session_id=session_id)
    return started_at is not None and timezone.now() - started_at <= account_settings().recent_sign_in


def _reauthenticate(user: User, *, session_id: uuid.UUID, password: str | None) -> None:
    """The current password if one is given (or the user has one and asks to change it), else a recent sign-in."""
    if password is not None:
        _password_prove(user, password)
        return
    if not _signed_in_recently(session_id):
        minutes = int(account_settings().recent_sign_in.total_seconds() // 60)
        raise ReauthenticationRequired(
            _("Give the current password, or sign in again (within %(minutes)s minutes).") % {"minutes": minutes}
        )


def password_change(*, user_id: int, session_id: uuid.UUID, current_password: str | None, new_password: str) -> None:
    """Sets a new password and ends every other session of the user.

    A user who has a password proves it; one who has none yet (signed up with a provider)
    must have signed in recently.
    """
    _password_login_required()
    user = user_get(user_id=user_id)
    if user.has_usable_password() and current_password is None:
        raise PasswordIncorrect(_("Give the current password."))
    _reauthenticate(user, session_id=session_id, password=current_password)
    _password_validate(new_password, user=user)
    user.set_password(new_password)
    with session_kept(session_id):  # accounts.signals ends the others
        user.save(update_fields=["password"])


@retry_on_conflict
def identity_remove(*, user_id: int, identity_id: int) -> None:
    """Unlinks one of the user's identities, unless it is their last way to sign in."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
        if user is None:
            raise TokenRevoked(_("The user of this token no longer exists or is disabled."))
        identities = social_account_list(user_id=user.pk)
        if identity_id not in {identity.pk for identity in identities}:
            raise IdentityNotFound()
        if len(identities) == 1 and not password_is_a_way_in(user):
            raise LastSignInMethod(_("Set a password or link another provider first."))
        social_services.social_account_delete(account_id=identity_id)


def account_delete(*, user_id: int, session_id: uuid.UUID, password: str | None) -> None:
    """Deletes the user, their identities and sessions, after a recent sign-in or the password.

    Identities at providers that allow it are unlinked there first (Kakao, with
    SOCIAL_KAKAO_ADMIN_KEY); if that fails nothing is deleted, and the request can be
    repeated. Deleting the user ends their sessions (accounts.signals) and deletes the
    identities with it.
    """
    user = user_get(user_id=user_id)
    _reauthenticate(user, session_id=session_id, password=password)
    social_services.social_accounts_revoke(user_id=user.pk)
    user.delete()
