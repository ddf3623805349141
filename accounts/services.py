"""What the accounts app does: sign-up, verification, password sign-in, reset and change,
identities and deletion. Sessions and tokens are the tokens app's; identities the social app's.

Every endpoint that takes an email answers alike for an address with an account and one
without, and does the same password-hashing work for both (one hash or one check), so
neither the answer nor the hasher tells whether an account exists.
"""

import functools
import secrets
from dataclasses import dataclass

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

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
)
from accounts.passwords import password_prove
from accounts.selectors import password_is_a_way_in, user_get
from accounts.signals import session_kept
from accounts.tasks import account_email_deliver
from accounts.throttling import sign_in_failures
from core.emails import canonical_email, canonical_email_or_none
from core.errors import AccountDisabled
from core.events import AuthEvent, email_target, emit
from core.models import DISPLAY_NAME_MAX_LENGTH, User
from core.transactions import retry_on_conflict
from mfa import services as mfa_services
from mfa.services import AMR_OTP, AMR_PASSWORD, require_recent_strong_sign_in
from social import services as social_services
from social.selectors import social_account_list
from tokens.errors import TokenRevoked
from tokens.services import Principal, TokenPair, access_token_authenticate


def _password_login_required() -> None:
    if not account_settings().password_login:
        raise PasswordLoginDisabled()


def _password_validate(password: str, *, user: User) -> None:
    """AUTH_PASSWORD_VALIDATORS, their messages in the problem's `errors`."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise PasswordInvalid("See `errors` for what the password lacks.", errors=list(exc.messages)) from None


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


def account_register(*, email: str, password: str, display_name: str = "") -> None:
    """Signs an address up, or tells its owner someone tried; the caller cannot tell which.

    A new address gets an account with an unverified email and a verification link. An
    address that has an account, verified or not, gets no new password: its owner gets an
    email saying someone tried to sign up, with a link to set a password. So a sign-up
    never changes an existing account, and an attacker's password on an address waits,
    unusable, until whoever reads that inbox confirms it or replaces it.
    """
    _password_login_required()
    address = canonical_email(email)
    draft = User(email=address, display_name=display_name[:DISPLAY_NAME_MAX_LENGTH])
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
        password_prove(user, password)
    elif access is None or access_token_authenticate(token=access).user_id != user.pk:
        raise PasswordRequired("Open the link in the browser you signed up in and give the password you chose.")
    user.email_verified = True
    user.last_login = timezone.now()
    user.save(update_fields=["email_verified", "last_login"])
    emit(AuthEvent.SIGN_IN, outcome="success", provider="email_link", user_id=user.pk)
    # The link proves the inbox, the password or the bearer token the account: the password is the
    # factor RFC 8176 names; a bearer's own sign-in is not carried over (docs/mfa.md).
    return mfa_services.sign_in(user=user, amr=[AMR_PASSWORD], user_agent=user_agent, ip=ip)


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
        raise AccountDisabled("An administrator has disabled this account.", target=target)
    if not user.email_verified:
        raise EmailUnverified("Open the link emailed at sign-up, or ask for a new one.", target=target)
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    emit(AuthEvent.SIGN_IN, outcome="success", provider="password", user_id=user.pk)
    tokens = mfa_services.sign_in(user=user, amr=[AMR_PASSWORD], user_agent=user_agent, ip=ip)
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
    # The emailed link is the proof: a one-time secret sent out of band (RFC 8176 `otp`); a user
    # with a second factor must prove it still, or a stolen inbox would be a stolen account.
    return mfa_services.sign_in(user=user, amr=[AMR_OTP], user_agent=user_agent, ip=ip)


def password_change(*, principal: Principal, current_password: str | None, new_password: str) -> None:
    """Sets a new password and ends every other session of the user.

    A user who has a password proves it; one who has none yet (signed up with a provider)
    must have signed in recently; one with a second factor must also have proven it recently
    (mfa.services.require_recent_strong_sign_in).
    """
    _password_login_required()
    user = user_get(user_id=principal.user_id)
    if user.has_usable_password() and current_password is None:
        raise PasswordIncorrect("Give the current password.")
    require_recent_strong_sign_in(user=user, principal=principal, password=current_password)
    _password_validate(new_password, user=user)
    user.set_password(new_password)
    with session_kept(principal.session_id):  # accounts.signals ends the others
        user.save(update_fields=["password"])


@retry_on_conflict
def identity_remove(*, principal: Principal, identity_id: int) -> None:
    """Unlinks one of the user's identities, unless it is their last way to sign in; needs a recent sign-in."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=principal.user_id, is_active=True).first()
        if user is None:
            raise TokenRevoked("The user of this token no longer exists or is disabled.")
        require_recent_strong_sign_in(user=user, principal=principal)
        identities = social_account_list(user_id=user.pk)
        if identity_id not in {identity.pk for identity in identities}:
            raise IdentityNotFound()
        if len(identities) == 1 and not password_is_a_way_in(user):
            raise LastSignInMethod("Set a password or link another provider first.")
        social_services.social_account_delete(account_id=identity_id)


def account_delete(*, principal: Principal, password: str | None) -> None:
    """Deletes the user, their identities and sessions, after a recent sign-in or the password
    (and, for a user with a second factor, a recent one at aal2).

    Identities at providers that allow it are unlinked there first (Kakao, with
    SOCIAL_KAKAO_ADMIN_KEY); if that fails nothing is deleted, and the request can be
    repeated. Deleting the user ends their sessions (accounts.signals) and deletes the
    identities with it.
    """
    user = user_get(user_id=principal.user_id)
    require_recent_strong_sign_in(user=user, principal=principal, password=password)
    social_services.social_accounts_revoke(user_id=user.pk)
    user.delete()
